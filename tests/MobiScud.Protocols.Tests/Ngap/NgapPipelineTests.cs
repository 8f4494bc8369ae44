using MobiScud.Capture;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.Tests.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Ngap;

/// <summary>The capture pipeline recognises NGAP (PPID 60 / port 38412) and GTP-U's PDU Session Container, checked against tshark.</summary>
public class NgapPipelineTests
{
    private sealed class Sink : ISignallingSink, INgapSignallingSink
    {
        public List<(long Frame, string Summary)> Ngap { get; } = [];

        public List<(long Frame, byte? Qfi, byte? PduType)> Gtpu { get; } = [];

        public List<long> Undecodable { get; } = [];

        public void OnS1ap(in PayloadContext context, MobiScud.Protocols.S1ap.S1apSummary summary) => throw new InvalidOperationException("no S1AP in a 5G capture");

        public void OnNgap(in PayloadContext context, NgapSummary summary) => Ngap.Add((context.FrameNumber, summary.ToString()));

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
            if (kind != UdpPayloadKind.Gtpu)
            {
                return;
            }

            try
            {
                var h = GtpU.Decode(payload);
                Gtpu.Add((context.FrameNumber, h.Qfi, h.PduSessionPduType));
            }
            catch (GtpDecodeException)
            {
                Undecodable.Add(context.FrameNumber); // cut by the capture's snap length
            }
        }
    }

    [Theory]
    [MemberData(nameof(NgapOracleTests.Captures), MemberType = typeof(NgapOracleTests))]
    public void Pipeline_hands_on_every_ngap_message_tshark_sees(string capture)
    {
        var sink = new Sink();
        var pipeline = new SignallingPipeline(sink);
        using (var file = CaptureFile.Open(TestData.Capture(capture)))
        {
            pipeline.Run(file);
        }

        var theirs = NgapOracleTests.Messages(capture);
        Assert.Equal(theirs.Count, pipeline.Statistics.NgapMessages);
        Assert.Equal(theirs.Select(m => NgapDecoder.Decode(m.Bytes).ToString()), sink.Ngap.Select(n => n.Summary));
        Assert.DoesNotContain(pipeline.Statistics.Dropped.Keys, k => k.Layer == DropLayer.Ngap);
    }

    [Fact]
    public void Pdu_session_container_qfi_matches_tshark()
    {
        const string capture = "open5gs_testregistration_ngap.pcapng";
        var sink = new Sink();
        var pipeline = new SignallingPipeline(sink);
        using (var file = CaptureFile.Open(TestData.Capture(capture)))
        {
            pipeline.Run(file);
        }

        var theirs = TsharkCorpus.For(TestData.Capture(capture), "gtp")
            .Where(m => m.Values("gtp.ext_hdr.pdu_ses_con.qos_flow_id").Any() && !sink.Undecodable.Contains(m.Frame))
            .Select(m => (long)m.Frame * 1000 + int.Parse(m.Values("gtp.ext_hdr.pdu_ses_con.qos_flow_id").First()) * 10 + int.Parse(m.Values("gtp.ext_hdr.pdu_ses_con.pdu_type").First()))
            .ToList();
        Assert.NotEmpty(theirs);
        var ours = sink.Gtpu.Where(g => g.Qfi.HasValue).Select(g => g.Frame * 1000 + g.Qfi!.Value * 10 + g.PduType!.Value).ToList();
        Assert.Equal(theirs, ours);
    }
}
