using MobiScud.Capture;
using MobiScud.Protocols;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Tracking.Tests.Ngap;

/// <summary>
/// The 5G tracker path with damaged bytes (the whole-path fuzz damages frames, not bytes): every NGAP message of both
/// 5G captures, as the pipeline hands it on, with 1-4 octets changed, through the NGAP decoder, the signal factory and
/// one long-lived tracker, between clean runs of the capture's messages. Only the typed decode error may stop a
/// message; nothing else throws, no Fault note, the invariants hold after every step. (Damaged frames cannot go
/// through the pipeline itself: its SCTP reassembler drops a DATA chunk whose TSN it has seen, as it should.)
/// MOBISCUD_NGAP_MUTATIONS sets the number of damaged messages per capture (CI: 10,000).
/// </summary>
public sealed class NgapMutationTrackerTests
{
    private sealed class Recorder : ISignallingSink, INgapSignallingSink
    {
        public List<(byte[] Pdu, NetEndpoint Source, NetEndpoint Destination, long Nanos)> Messages { get; } = [];

        public void OnNgap(in PayloadContext context, NgapSummary summary) =>
            Messages.Add((summary.Pdu.ToArray(), context.Source, context.Destination, context.TimestampNanos));

        public void OnS1ap(in PayloadContext context, S1apSummary summary)
        {
        }

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }
    }

    [Theory]
    [InlineData("open5gs_testregistration_ngap.pcapng")]
    [InlineData("5greplay_oai_ngap.pcap")]
    public void Damaged_NGAP_bytes_never_break_the_tracker(string name)
    {
        var mutations = Environment.GetEnvironmentVariable("MOBISCUD_NGAP_MUTATIONS") is { Length: > 0 } v ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : 10_000;
        var recorder = new Recorder();
        using (var source = CaptureFile.Open(TestData.Capture(name)))
        {
            new SignallingPipeline(recorder).Run(source);
        }

        var messages = recorder.Messages;
        Assert.NotEmpty(messages);
        var state = TrackerState.Empty;
        var faults = new List<string>();
        var summary = new NgapSummary();
        var at = TimeSpan.Zero;
        var (typedErrors, decoded) = (0, 0);
        void Play(byte[] pdu, NetEndpoint from, NetEndpoint to)
        {
            try
            {
                NgapDecoder.Decode(pdu, summary);
            }
            catch (DecodeException)
            {
                typedErrors++;
                return;
            }

            decoded++;
            at += TimeSpan.FromMilliseconds(1);
            var step = UeTracker.Apply(state, NgapSignalFactory.From(summary, at, from, to));
            UeTracker.CheckInvariants(step.State);
            faults.AddRange(step.Notes.Where(n => n.Kind == TrackerNoteKind.Fault).Select(n => n.Text));
            state = step.State;
        }

        var random = new Random(15);
        for (var m = 0; m < mutations; m++)
        {
            if (m % 2_000 == 0)
            {
                // A clean run now and then, so damaged messages meet UEs in every state.
                foreach (var (pdu, from, to, _) in messages)
                {
                    Play(pdu, from, to);
                }
            }

            var (clean, source, destination, _) = messages[random.Next(messages.Count)];
            var copy = (byte[])clean.Clone();
            for (var k = random.Next(1, 5); k > 0; k--)
            {
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            }

            Play(copy, source, destination);
        }

        Assert.True(faults.Count == 0, string.Join("\n", faults.Take(10)));
        Assert.True(typedErrors > 0 && decoded > mutations / 4, $"{typedErrors} typed errors, {decoded} decoded: the damage did not exercise both paths");
    }
}
