using MobiScud.Control;
using MobiScud.Control.Model;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>A switch that rejects or never confirms steering: the MC marks it not installed, backs off, and sends it again.</summary>
public sealed class SteeringFailureTests
{
    private static IReadOnlyList<ControlCommand> Fail(Fixture f, SteeringIntent intent, string reason = "OFPET_FLOW_MOD_FAILED/OFPFMFC_TABLE_FULL") =>
        f.On(t => new SteeringFailed(t, Ue, intent.SwitchSite, reason, intent.Version));

    private static IReadOnlyList<ControlCommand> Fire(Fixture f, ScheduleTimer timer) =>
        f.On(_ => new TimerFired(timer.Due, Ue, timer.Kind, timer.Token));

    [Fact]
    public void A_failure_of_the_current_intent_marks_it_not_installed_and_retries_the_same_flows_after_the_back_off()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var sent = f.State!.Steering!;
        Assert.True(f.State.SteeringInstalled);

        var onFail = Fail(f, sent, "table full");
        Assert.Empty(onFail.OfType<InstallSteering>());
        var timer = Single<ScheduleTimer>(onFail);
        Assert.Equal(TimerKind.SteeringRetry, timer.Kind);
        Assert.Equal(f.Now + TimeSpan.FromSeconds(1), timer.Due);
        var news = Single<Notify>(onFail);
        Assert.Equal(NotificationKind.SteeringFailed, news.Kind);
        Assert.Contains("table full", news.Detail, StringComparison.Ordinal);
        Assert.False(f.State.SteeringInstalled);
        Assert.Equal(sent, f.State.SteeringFault!.Intent);
        Assert.Equal("table full", f.State.SteeringFault.Reason);

        var retry = Single<InstallSteering>(Fire(f, timer));
        Assert.True(MobiScudControl.SameSteering(sent, retry.Intent));
        Assert.True(retry.Intent.Version > sent.Version);
        Assert.True(f.State.SteeringInstalled);
        Assert.Equal(retry.Intent, f.State.Steering);
    }

    [Fact]
    public void Consecutive_failures_double_the_wait_up_to_the_maximum()
    {
        var f = new Fixture(new McConfig(Sites, Core, steeringRetryAfter: TimeSpan.FromSeconds(1), steeringRetryMax: TimeSpan.FromSeconds(30)));
        f.Up(EnbA1);
        var waits = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            var onFail = Fail(f, f.State!.Steering!);
            var timer = Single<ScheduleTimer>(onFail);
            waits.Add((timer.Due - f.Now).TotalSeconds);
            Single<InstallSteering>(Fire(f, timer));
        }

        Assert.Equal([1, 2, 4, 8, 16, 30, 30], waits);

        // Other steering (a handover) starts the back-off afresh.
        f.PathSwitch(EnbA2, 0x5005);
        Assert.Equal(TimeSpan.FromSeconds(1), Single<ScheduleTimer>(Fail(f, f.State!.Steering!)).Due - f.Now);
    }

    [Fact]
    public void A_failure_of_an_intent_a_handover_replaced_is_stale_and_ignored()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var old = f.State!.Steering!;
        f.PathSwitch(EnbA2, 0x4004);
        var before = f.State;

        Assert.Empty(Fail(f, old));
        Assert.Same(before, f.State);
        Assert.True(f.State!.SteeringInstalled);
    }

    [Fact]
    public void A_handover_while_a_retry_is_pending_sends_the_new_steering_and_the_old_retry_timer_does_nothing()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var timer = Single<ScheduleTimer>(Fail(f, f.State!.Steering!));

        var onSwitch = f.PathSwitch(EnbA2, 0x4004);
        var fresh = Single<InstallSteering>(onSwitch);
        Assert.Equal(EnbAddress(EnbA2), fresh.Intent.Bearers[0].Downlink.Address);
        Assert.True(f.State!.SteeringInstalled);

        Assert.Empty(Fire(f, timer));
        Assert.Equal(fresh.Intent, f.State!.Steering);
    }

    [Fact]
    public void Several_sites_reporting_the_same_failure_schedule_one_retry()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003); // redirect: B's switch relays to the PVM at A, both switches are programmed
        var redirect = f.State!.Steering!;
        Assert.NotEqual(redirect.SwitchSite, redirect.PvmSite);

        Single<ScheduleTimer>(f.On(t => new SteeringFailed(t, Ue, redirect.PvmSite, "relay rejected", redirect.Version)));
        Assert.Empty(f.On(t => new SteeringFailed(t, Ue, redirect.SwitchSite, "barrier timed out", redirect.Version)));
        Assert.Equal(1, f.State!.SteeringFailures);
    }

    [Fact]
    public void A_retry_that_comes_due_after_the_ue_went_idle_sends_nothing()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var timer = Single<ScheduleTimer>(Fail(f, f.State!.Steering!));
        f.On(t => new UeReleasedToIdle(t, Ue));
        Assert.Null(f.State!.Steering);
        Assert.Null(f.State.SteeringFault);

        Assert.Empty(Fire(f, timer).OfType<InstallSteering>());
    }

    [Fact]
    public void A_reconcile_request_resends_at_once_and_keeps_the_back_off_count()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        Single<InstallSteering>(Fire(f, Single<ScheduleTimer>(Fail(f, f.State!.Steering!))));
        Fail(f, f.State!.Steering!);
        Assert.Equal(2, f.State!.SteeringFailures);

        var resend = Single<InstallSteering>(f.On(t => new ReconcileRequested(t, Ue)));
        Assert.True(f.State!.SteeringInstalled);
        Assert.Equal(TimeSpan.FromSeconds(4), Single<ScheduleTimer>(Fail(f, resend.Intent)).Due - f.Now);
    }

    [Fact]
    public void A_failure_report_for_a_ue_without_steering_changes_nothing()
    {
        var f = new Fixture();
        f.Attach(EnbA1); // PVM not up yet: no steering sent
        var before = f.State;
        Assert.Empty(f.On(t => new SteeringFailed(t, Ue, A, "rejected", 1)));
        Assert.Same(before, f.State);
    }

    [Fact]
    public void The_retry_configuration_is_checked()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new McConfig(Sites, Core, steeringRetryAfter: TimeSpan.FromSeconds(5), steeringRetryMax: TimeSpan.FromSeconds(2)));
        Assert.Contains("steeringRetryMax", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new McConfig(Sites, Core, steeringRetryAfter: TimeSpan.Zero));
    }
}
