using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Control.Model;
using MobiScud.TestSupport;

namespace MobiScud.Tracking.Tests.WholePath;

/// <summary>One frame of a shared capture, copied out of the reader so it can be replayed in any order and many times.</summary>
internal readonly record struct RawFrame(long Number, LinkType LinkType, long TimestampNanos, byte[] Data, int OriginalLength, int InterfaceId)
{
    public CaptureFrame ToFrame(long number, long timestampNanos) => new(number, LinkType, timestampNanos, Data, OriginalLength, InterfaceId);
}

/// <summary>
/// A shared capture held in memory: its frames that reach the tracker at all (S1AP and NGAP messages, GTP payloads, or packets
/// the pipeline counts as undecodable; ARP, Diameter and the like can never reach the tracker, so leaving them out
/// changes nothing but the run time), and the eNBs a clean run of the whole capture reports.
/// </summary>
internal sealed class CaptureFrames
{
    private static readonly Lazy<IReadOnlyList<CaptureFrames>> _allLazy = new(() => TestData.AllCaptures().Select(Load).ToList());

    private CaptureFrames(string name, IReadOnlyList<RawFrame> frames, IReadOnlyList<EnbId> enbs)
    {
        Name = name;
        Frames = frames;
        Enbs = enbs;
    }

    public static IReadOnlyList<CaptureFrames> All => _allLazy.Value;

    public string Name { get; }

    public IReadOnlyList<RawFrame> Frames { get; }

    public IReadOnlyList<EnbId> Enbs { get; }

    public override string ToString() => Name;

    private static CaptureFrames Load(string path)
    {
        var all = new List<RawFrame>();
        using (var source = CaptureFile.Open(path))
        {
            while (source.TryReadNext(out var f))
            {
                all.Add(new RawFrame(f.Number, f.LinkType, f.TimestampNanos, f.Data.ToArray(), f.OriginalLength, f.InterfaceId));
            }
        }

        // Which frames produce signalling or an undecodable count, one frame at a time through one clean pipeline.
        var enbs = new HashSet<EnbId>();
        var reached = 0L;
        var feed = new TrackerFeed((e, _) => enbs.UnionWith(EnbsOf(e)), onNote: null, onDrop: d => reached += d.Layer == DropLayer.Ignored ? 0 : 1);
        var kept = new List<RawFrame>();
        foreach (var f in all)
        {
            var before = reached + feed.Statistics.S1apMessages + feed.Statistics.NgapMessages + feed.Statistics.GtpcPackets + feed.Statistics.GtpuPackets;
            feed.Process(f.ToFrame(f.Number, f.TimestampNanos));
            if (reached + feed.Statistics.S1apMessages + feed.Statistics.NgapMessages + feed.Statistics.GtpcPackets + feed.Statistics.GtpuPackets != before)
            {
                kept.Add(f);
            }
        }

        return new CaptureFrames(Path.GetFileName(path), kept, enbs.OrderBy(e => e.Value).ToList());
    }

    private static IEnumerable<EnbId> EnbsOf(UeEvent e) => e switch
    {
        UeAttached a => [a.Enb],
        ServiceRequested s => [s.Enb],
        HandoverPrepared p => [p.Source, p.Target],
        HandoverCompleted h => [h.Target],
        PathSwitched p => [p.Target],
        _ => [],
    };
}
