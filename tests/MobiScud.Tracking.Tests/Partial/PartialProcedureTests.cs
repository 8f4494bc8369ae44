using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests.Partial;

/// <summary>
/// Issue 14 item 2: state inferred from the part of a procedure that was seen, each time with an Inferred note. Real
/// captures with the other half's frames left out; frame numbers are tshark's (`tshark -r open5gs_testepc_2019.pcapng
/// -Y s1ap -T fields -e frame.number -e s1ap.procedureCode -e _ws.col.Info`).
/// open5gs_testepc_2019: 271/272 and 278/280 E-RAB setup (E-RABs 6, 7), 290/291 E-RAB release of 6; 364/365 E-RAB
/// setup, 369/376 and 377/384 X2 path switches (PathSwitchRequest/Acknowledge); 417/418 E-RAB setup on eNB 66, then
/// the S1 handover 422 Required, 423 Request, 424 RequestAcknowledge, 427 Command, 430 Notify; 550/551 and 635/636
/// E-RAB releases.
/// </summary>
public sealed class PartialProcedureTests
{
    private const string Epc = "open5gs_testepc_2019.pcapng";
    private const string HandoverUe = "imsi-001010123456815";

    private static readonly Lazy<CaptureRun> _whole = new(() => CaptureRun.Of(Epc, _ => true));

    private static CaptureRun Without(params long[] frames) => CaptureRun.Of(Epc, n => !frames.Contains(n));

    private static IEnumerable<string> AllKinds(CaptureRun run) => run.Events.Select(e => $"{e.Ue.Value} {e.GetType().Name}");

    [Theory]
    [InlineData(new long[] { 422 }, "HandoverRequest on")] // Required lost: the request repeats the UE's uplinks
    [InlineData(new long[] { 423 }, "whose HandoverRequest was not seen")] // Request lost: the acknowledge answers the preparation
    [InlineData(new long[] { 424 }, "whose HandoverRequestAcknowledge was not seen")] // Acknowledge lost: the notify completes it
    public void S1_handover_with_one_message_lost_is_followed_as_in_the_whole_capture(long[] lost, string inferred)
    {
        var run = Without(lost);
        Assert.Contains(run.Inferred, n => n.Text.Contains(inferred, StringComparison.Ordinal));
        Assert.Equal(_whole.Value.Kinds(HandoverUe), run.Kinds(HandoverUe));
        Assert.Equal(
            _whole.Value.Events.OfType<HandoverCompleted>().Select(h => h.Target),
            run.Events.OfType<HandoverCompleted>().Select(h => h.Target));
        if (lost[0] == 424)
        {
            // The admitted downlink ends were in the lost acknowledge: the completion says nothing about them.
            Assert.Empty(run.Events.OfType<HandoverCompleted>().First().Downlinks);
        }
        else
        {
            Assert.Equal(_whole.Value.Bearers(HandoverUe), run.Bearers(HandoverUe));
        }
    }

    [Theory]
    [InlineData(418L)] // E-RAB Setup Response lost: the uplink is known from the request
    [InlineData(417L)] // E-RAB Setup Request lost: the HandoverRequest names the uplink
    public void E_rab_setup_seen_in_part_before_a_handover_is_a_bearer_once_the_target_admits_it(long lost)
    {
        var run = Without(lost);
        Assert.Contains(run.Inferred, n => n.Text.Contains("was admitted by the handover target", StringComparison.Ordinal));
        Assert.Equal(_whole.Value.Bearers(HandoverUe), run.Bearers(HandoverUe));

        // The MC is told of the bearer at the handover's completion instead of at the setup: same events otherwise.
        Assert.Equal(_whole.Value.Kinds(HandoverUe).Split(' ').Order(), run.Kinds(HandoverUe).Split(' ').Order());
    }

    [Fact]
    public void E_rab_setup_response_lost_then_released_is_never_a_bearer()
    {
        // 272 (setup response of E-RAB 6, requested in 271) lost; the release command 290 and response 291 name it.
        var run = Without(272);
        Assert.Contains(run.Inferred, n => n.Text.Contains("E-RAB 6 released before its setup was seen answered", StringComparison.Ordinal));
        var whole = AllKinds(_whole.Value).ToList();
        var ue = _whole.Value.Timeline.Single(t => t.Frame == 272).Event.Ue.Value;
        whole.Remove($"{ue} BearerAdded");
        whole.Remove($"{ue} BearerReleased");
        Assert.Equal(whole, AllKinds(run));
    }

    [Theory]
    [InlineData(new long[] { 291, 551, 636 }, true)] // responses lost: the next message on the connection shows the release
    [InlineData(new long[] { 290, 550, 635 }, false)] // commands lost: the responses release
    public void E_rab_release_with_one_half_lost_releases_the_same_bearers(long[] lost, bool inferred)
    {
        var run = Without(lost);
        Assert.Equal(AllKinds(_whole.Value), AllKinds(run));
        Assert.Equal(_whole.Value.Events.OfType<BearerReleased>().Select(r => (r.Ue, r.ERabId)), run.Events.OfType<BearerReleased>().Select(r => (r.Ue, r.ERabId)));
        Assert.Equal(inferred, run.Inferred.Any(n => n.Text.Contains("after an E-RAB Release Command whose response was not seen", StringComparison.Ordinal)));
    }

    [Fact]
    public void Path_switch_acknowledge_lost_the_next_path_switch_shows_it_happened()
    {
        var run = Without(376);
        Assert.Contains(run.Inferred, n => n.Text.Contains("while the one on", StringComparison.Ordinal));
        Assert.Equal(AllKinds(_whole.Value), AllKinds(run));
        Assert.Equal(_whole.Value.Events.OfType<PathSwitched>().Select(p => (p.Target, p.Downlinks.Count)), run.Events.OfType<PathSwitched>().Select(p => (p.Target, p.Downlinks.Count)));
    }

    [Fact]
    public void Path_switch_request_lost_the_acknowledge_moves_the_ue_by_its_mme_ue_id()
    {
        var run = Without(369);
        Assert.Contains(run.Inferred, n => n.Text.Contains("PathSwitchRequestAcknowledge on", StringComparison.Ordinal) && n.Text.Contains("without its request", StringComparison.Ordinal));
        Assert.Equal(AllKinds(_whole.Value), AllKinds(run));
        var whole = _whole.Value.Events.OfType<PathSwitched>().ToList();
        var partial = run.Events.OfType<PathSwitched>().ToList();
        Assert.Equal(whole.Select(p => p.Target), partial.Select(p => p.Target));
        Assert.Empty(partial[0].Downlinks); // they were in the lost request
        Assert.Equal(whole[1].Downlinks, partial[1].Downlinks);
    }

    [Fact]
    public void E_rab_modification_confirm_lost_the_next_message_shows_the_indication_held()
    {
        // magma_nsa_connection: 44 E-RABModificationIndication, 47 E-RABModificationConfirm, 57 detach request.
        const string nsa = "magma_nsa_connection.pcapng";
        var whole = CaptureRun.Of(nsa, _ => true);
        var run = CaptureRun.Of(nsa, n => n != 47);
        Assert.Contains(run.Inferred, n => n.Text.Contains("E-RAB modification indication without its confirm", StringComparison.Ordinal));
        Assert.Equal(AllKinds(whole), AllKinds(run));
        Assert.Equal(whole.Events.OfType<BearerModified>().Select(m => m.Downlink), run.Events.OfType<BearerModified>().Select(m => m.Downlink));
        Assert.Contains(whole.Events, e => e is BearerModified);

        var noIndication = CaptureRun.Of(nsa, n => n != 44);
        Assert.Contains(noIndication.Inferred, n => n.Text.Contains("without its indication", StringComparison.Ordinal));
        Assert.DoesNotContain(noIndication.Events, e => e is BearerModified);
    }

    [Fact]
    public void Release_command_and_complete_both_lost_the_service_request_shows_the_ue_went_idle()
    {
        // open5gs_testattach: 225 UEContextReleaseCommand, 226 Complete, 227 InitialUEMessage (Service request) on
        // the same eNB. Without 225-226 the UE still looks connected when its service request arrives: it went idle
        // unseen, so the MC is told of the idle period and of a service request (not of "bearer modified").
        const string attach = "open5gs_testattach.pcapng";
        var whole = CaptureRun.Of(attach, _ => true);
        var run = CaptureRun.Of(attach, n => n is not (225 or 226));
        Assert.Contains(run.Inferred, n => n.Text.Contains("that connection was released unseen", StringComparison.Ordinal));
        Assert.Equal(AllKinds(whole), AllKinds(run));
        var ue = whole.Timeline.Single(t => t.Frame == 225).Event.Ue;
        Assert.Equal(
            whole.Events.Where(e => e.Ue == ue).Select(e => e.GetType().Name),
            run.Events.Where(e => e.Ue == ue).Select(e => e.GetType().Name));
        Assert.Contains(run.Events, e => e is ServiceRequested && e.Ue == ue);
    }
}
