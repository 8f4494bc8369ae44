using MobiScud.Control.Model;

namespace MobiScud.Control.Tests;

/// <summary>
/// EnbIdentified (issue 14): the tracker learnt that the eNB it named earlier has another id. The UE did not move, so
/// no handover is counted; the MC's facts take the new name and steering follows the site the new name maps to.
/// </summary>
public sealed class EnbIdentifiedTests
{
    [Fact]
    public void The_serving_enb_takes_the_new_name_and_steering_is_sent_via_it_without_a_handover()
    {
        var f = new Fixture();
        f.Up(Fixture.EnbA1);
        var since = f.State!.ServingSince;
        var commands = f.On(t => new EnbIdentified(t, Fixture.Ue, Fixture.EnbA1, Fixture.EnbA2, "a Target-ID"));
        Assert.Equal(Fixture.EnbA2, f.State!.ServingEnb);
        Assert.Equal(since, f.State.ServingSince);
        Assert.Equal(0, f.State.HandoversAway);
        var install = Fixture.Single<InstallSteering>(commands);
        Assert.Equal((Fixture.EnbA2, Fixture.A), (install.Intent.Enb, install.Intent.SwitchSite));
        Assert.DoesNotContain(commands, c => c is StartMigration or Notify);
    }

    [Fact]
    public void A_new_name_at_another_site_moves_the_pvm_toward_that_site()
    {
        // The first name mapped to no site (the core); the real id is B's: the PVM is placed where the UE really is.
        var f = new Fixture();
        f.Up(Fixture.Unserved);
        Assert.Equal(Fixture.Core, f.State!.PvmSite);
        var commands = f.On(t => new EnbIdentified(t, Fixture.Ue, Fixture.Unserved, Fixture.EnbB1, "a Target-ID"));
        Assert.Equal(Fixture.EnbB1, f.State!.ServingEnb);
        Assert.Equal(0, f.State.HandoversAway);
        Assert.Equal((Fixture.Core, Fixture.B), (Fixture.Single<StartMigration>(commands).From, Fixture.Single<StartMigration>(commands).To));
    }

    [Fact]
    public void A_pending_handovers_ends_take_the_new_name_and_other_names_change_nothing()
    {
        var f = new Fixture();
        f.Up(Fixture.EnbA1);
        f.On(t => new HandoverPrepared(t, Fixture.Ue, Fixture.EnbA1, Fixture.Unserved, HandoverKind.S1));
        f.On(t => new EnbIdentified(t, Fixture.Ue, Fixture.Unserved, Fixture.EnbB1, "the target's cell"));
        Assert.Equal((Fixture.EnbA1, Fixture.EnbB1), (f.State!.PendingHandover!.Source, f.State.PendingHandover.Target));
        Assert.Equal(Fixture.EnbA1, f.State.ServingEnb);

        var before = f.State;
        Assert.Empty(f.On(t => new EnbIdentified(t, Fixture.Ue, Fixture.EnbC1, Fixture.EnbB1, "another UE's eNB")));
        Assert.Equal(before with { LastEventAt = f.State!.LastEventAt }, f.State);
    }
}
