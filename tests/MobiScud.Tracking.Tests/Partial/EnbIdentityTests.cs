using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests.Partial;

/// <summary>
/// Issue 14 item 1: one identity per physical eNB. mobiscud_home_enb_handovers.pcap (built by the Protocols tests'
/// HomeEnbCapture, checked in tshark): Home eNBs 0x00A2C01 (10.1.0.1) and 0x00A2D01 (10.1.0.2), no S1 Setup; frames:
/// 1-3 attach on HeNB 1, 4 HandoverRequired (Target-ID: Home eNB 0x00A2D01), 5 HandoverRequest on HeNB 2, 6 its
/// acknowledge, 7 HandoverCommand, 8 HandoverNotify, 9-10 release of the source, 11-12 X2 path switch back to HeNB 1,
/// 13-15 release to idle, 16-18 service request on HeNB 2.
/// </summary>
public sealed class EnbIdentityTests
{
    private const string Home = "mobiscud_home_enb_handovers.pcap";
    private const string Ue = "imsi-001010000000042";
    private static readonly EnbId _heNb1 = new(0x00A2C01);
    private static readonly EnbId _heNb2 = new(0x00A2D01);

    /// <summary>The eNBs a UE's events name, with every EnbIdentified applied to what came before it.</summary>
    private static List<EnbId> Crossed(CaptureRun run)
    {
        var renames = run.Events.OfType<EnbIdentified>().ToList();
        EnbId Final(EnbId id) => renames.Aggregate(id, (x, r) => x == r.Was ? r.Now : x);
        return run.Events.SelectMany(e => e switch
        {
            UeAttached a => [a.Enb],
            HandoverPrepared p => [p.Source, p.Target],
            HandoverCompleted c => [c.Target],
            PathSwitched p => [p.Target],
            ServiceRequested s => new[] { s.Enb },
            _ => [],
        }).Select(Final).Distinct().ToList();
    }

    [Fact]
    public void Home_enbs_without_s1_setup_are_two_identities_and_the_ue_crosses_two()
    {
        var run = CaptureRun.Of(Home, _ => true);

        // The attach names HeNB 1 by its cell read as a macro id (0xA2C): nothing says Home yet. The Target-ID of frame
        // 4 names a Home eNB, so that reading is replaced, and the MC is told before the handover it prepares.
        var renamed = Assert.Single(run.Events.OfType<EnbIdentified>());
        Assert.Equal((new EnbId(0xA2C), _heNb1), (renamed.Was, renamed.Now));
        Assert.Equal(4, run.Timeline.Single(t => t.Event is EnbIdentified).Frame);
        Assert.Equal([_heNb1, _heNb2], Crossed(run).OrderBy(e => e.Value));
        var prepared = Assert.Single(run.Events.OfType<HandoverPrepared>());
        Assert.Equal((_heNb1, _heNb2), (prepared.Source, prepared.Target));
        Assert.Equal(_heNb2, Assert.Single(run.Events.OfType<HandoverCompleted>()).Target);
        Assert.Equal(_heNb1, Assert.Single(run.Events.OfType<PathSwitched>()).Target);
        Assert.Equal(_heNb2, Assert.Single(run.Events.OfType<ServiceRequested>()).Enb);

        // The tracker's associations: two, both Home eNB ids, one learnt from the Target-ID, one from its cell.
        var enbs = run.Tracker.Enbs.Values.OrderBy(e => e.Id.Value).ToList();
        Assert.Equal([_heNb1, _heNb2], enbs.Select(e => e.Id));
        Assert.All(enbs, e => Assert.True(e.Home));
        Assert.Equal([EnbIdentitySource.Cells, EnbIdentitySource.TargetId], enbs.Select(e => e.Source));
        Assert.Contains(run.Notes, n => n.Kind == TrackerNoteKind.EnbIdentity && n.Text.Contains("home reading of cell 0x00A2C01", StringComparison.Ordinal));
    }

    [Fact]
    public void Configured_home_ids_read_the_cells_as_home_from_the_first_message()
    {
        var run = CaptureRun.Of(Home, _ => true, [_heNb1, _heNb2]);
        Assert.DoesNotContain(run.Events, e => e is EnbIdentified);
        Assert.Equal(_heNb1, Assert.Single(run.Events.OfType<UeAttached>()).Enb);
        Assert.Equal([_heNb1, _heNb2], Crossed(run).OrderBy(e => e.Value));
    }

    [Fact]
    public void Without_the_handover_required_each_association_is_still_one_eNB()
    {
        // Frame 4 lost: nothing names a Home eNB, so both HeNBs keep the macro reading of their cells; the
        // HandoverRequest (5) is linked to the UE by the uplink tunnel it repeats (an inferred preparation), and HeNB 2,
        // first known only by its association, takes its cell's reading at the notify (8). Still two eNBs, not four.
        var run = CaptureRun.Of(Home, n => n != 4);
        Assert.Equal([new EnbId(0xA2C), new EnbId(0xA2D)], Crossed(run).OrderBy(e => e.Value));
        Assert.Equal(2, run.Tracker.Enbs.Values.Select(e => e.Id).Distinct().Count());
        Assert.Contains(run.Inferred, n => n.Text.Contains("whose HandoverRequired was not seen", StringComparison.Ordinal));
        Assert.Equal("UeAttached HandoverPrepared HandoverExecuting EnbIdentified HandoverCompleted PathSwitched UeReleasedToIdle ServiceRequested", run.Kinds(Ue));
    }

    [Fact]
    public void A_macro_enb_with_s1_setup_keeps_its_id_in_every_real_capture()
    {
        // Captures with S1 Setup, and macro captures without it: no eNB is ever renamed.
        foreach (var capture in WholePath.CaptureFrames.All.Where(c => c.Name != Home))
        {
            var run = CaptureRun.Of(capture.Name, _ => true);
            Assert.True(!run.Events.OfType<EnbIdentified>().Any(), $"{capture.Name}: {string.Join("; ", run.Events.OfType<EnbIdentified>())}");
        }
    }
}
