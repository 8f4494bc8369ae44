using System.Net;
using MobiScud.Capture;
using MobiScud.Control.Model;
using MobiScud.TestSupport;

namespace MobiScud.Tracking.Tests.Ngap;

/// <summary>
/// Tracker timelines from the two shared 5G captures, through the whole feed (pipeline, NGAP, 5G NAS, tracker), with
/// the invariants checked after every step. The UE addresses are checked against tshark's reading of the NAS (null
/// ciphering option), which we did not write.
/// </summary>
public sealed class NgapCaptureTimelineTests
{
    private static (List<(long Frame, UeEvent Event)> Events, List<string> Notes, TrackerFeed Feed) Replay(string name)
    {
        var events = new List<(long, UeEvent)>();
        var notes = new List<string>();
        var faults = new List<string>();
        var feed = new TrackerFeed((e, f) => events.Add((f, e)), (n, _) => notes.Add(n));
        feed.AfterStep = step =>
        {
            UeTracker.CheckInvariants(step.State);
            faults.AddRange(step.Notes.Where(n => n.Kind == TrackerNoteKind.Fault).Select(n => n.Text));
        };
        using (var source = CaptureFile.Open(TestData.Capture(name)))
        {
            feed.Run(source);
        }

        Assert.True(faults.Count == 0, string.Join("\n", faults));
        return (events, notes, feed);
    }

    [Fact]
    public void Open5gs_registration_PDU_session_idle_service_request_deregistration()
    {
        var (events, _, feed) = Replay("open5gs_testregistration_ngap.pcapng");
        Assert.Equal(1306, feed.Statistics.NgapMessages);

        // Frames 57-364 (tshark -Y ngap): NGSetup of gNB 16384 (22 bits), registration with a SUCI (null scheme),
        // PDU session 5 (UPF 127.0.0.7 TEID 1, gNB 127.0.0.2 TEID 1), a new registration whose session gets a new
        // address, deregistration, then registration, release to idle (UEContextReleaseCommand, user inactivity),
        // service request (session 5 back at the gNB), idle and service request again, and deregistration.
        var ue = "imsi-901700000021309";
        const string at = "gnb-16384 cell 262145";
        Assert.Equal(
            [
                $"131: {ue} attached 10.45.0.2 at {at} [5 ul 127.0.0.7/0x00000001 dl 127.0.0.2/0x00000001]",

                // A new InitialUEMessage while the UE is still connected: its release was not signalled (the tracker's
                // partial-procedure rule, as for S1), so it went idle first; the context setup brings session 5 back.
                $"141: {ue} idle",
                "146: " + ue + " service request at gnb-16384 [5 ul 127.0.0.7/0x00000001 dl 127.0.0.2/0x00000001]",
                $"209: {ue} detached",
                $"212: {ue} attached 10.45.0.3 at {at} [5 ul 127.0.0.7/0x00000002 dl 127.0.0.2/0x00000001]",
                $"221: {ue} idle", // the gNB's new NG Setup and a new InitialUEMessage: the old connection is gone
                $"221: {ue} detached",
                $"313: {ue} attached 10.45.0.4 at {at} [5 ul 127.0.0.7/0x00000003 dl 127.0.0.2/0x00000003]",
                $"327: {ue} idle",
                "332: " + ue + " service request at gnb-16384 [5 ul 127.0.0.7/0x00000003 dl 127.0.0.2/0x00000003]",
                $"346: {ue} idle",
                "354: " + ue + " service request at gnb-16384 [5 ul 127.0.0.7/0x00000003 dl 127.0.0.2/0x00000003]",
                $"364: {ue} idle",
                $"364: {ue} detached",
            ],
            events.Where(e => e.Frame <= 364).Select(e => $"{e.Frame}: {NgapTimelineTests.Line(e.Event)}"));

        // One UE throughout, every registration announced once and left once.
        Assert.All(events, e => Assert.Equal(ue, e.Event.Ue.Value));
        var attaches = events.Where(e => e.Event is UeAttached).ToList();
        Assert.Equal(22, attaches.Count);
        Assert.Equal(attaches.Count, events.Count(e => e.Event is Detached));
        Assert.Equal(13, events.Count(e => e.Event is UeReleasedToIdle)); // 5 signalled, 8 inferred where a new InitialUEMessage finds the UE still connected
        Assert.Equal(9, events.Count(e => e.Event is ServiceRequested)); // 5 signalled, 4 where a context setup brings an inferred-idle UE's session back
    }

    [Fact]
    public async Task Open5gs_every_announced_address_is_the_PDU_address_tshark_reads_before_it()
    {
        var (events, _, _) = Replay("open5gs_testregistration_ngap.pcapng");
        var tshark = ExternalTool.Require("tshark", "tshark");
        var r = await ExternalTool.RunAsync(tshark,
            ["-r", TestData.Capture("open5gs_testregistration_ngap.pcapng"), "-o", "nas-5gs.null_decipher:TRUE", "-Y", "sctp && nas_5gs.sm.pdu_addr_inf_ipv4",
                "-T", "fields", "-e", "frame.number", "-e", "nas_5gs.sm.pdu_addr_inf_ipv4"], TimeSpan.FromMinutes(2));
        Assert.Equal(0, r.ExitCode);
        var addresses = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t')).Select(p => (Frame: long.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), Address: IPAddress.Parse(p[1]))).ToList();
        Assert.Equal(23, addresses.Count);
        foreach (var (frame, e) in events.Where(e => e.Event is UeAttached))
        {
            Assert.Equal(addresses.Last(a => a.Frame <= frame).Address, ((UeAttached)e).UeAddress);
        }

        // Every address tshark reads was announced, but the last: its PDUSessionResourceSetupRequest (4050) is never
        // answered (the UE answers with 5GMM status and is released), so the session never came up.
        Assert.Equal(addresses.SkipLast(1).Select(a => a.Address), events.Select(e => e.Event).OfType<UeAttached>().Select(a => a.UeAddress));
    }

    [Fact]
    public void Oai_registration_and_PDU_session()
    {
        var (events, _, feed) = Replay("5greplay_oai_ngap.pcap");
        Assert.Equal(14, feed.Statistics.NgapMessages);

        // gNB id 0 (28 bits) from NGSetup; PDU session 10: UPF 192.168.70.134 TEID 8, gNB 192.168.70.129 TEID 0xca6fe0dd.
        Assert.Equal(
            ["183: imsi-208950000000031 attached 12.1.1.136 at gnb-0 cell 0 [10 ul 192.168.70.134/0x00000008 dl 192.168.70.129/0xca6fe0dd]"],
            events.Select(e => $"{e.Frame}: {NgapTimelineTests.Line(e.Event)}"));
    }
}
