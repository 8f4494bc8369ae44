using System.Diagnostics;
using MobiScud.Capture;
using Xunit;
using Xunit.Abstractions;

namespace MobiScud.Tracking.Tests.Live;

public sealed class LongRunDiag(ITestOutputHelper output)
{
    [Fact]
    public void Diag()
    {
        var path = Environment.GetEnvironmentVariable("DIAG_PCAP");
        if (path is null)
        {
            return;
        }

        var frames = new List<CaptureFrame>();
        using (var src = CaptureFile.Open(path))
        {
            while (src.TryReadNext(out var f))
            {
                frames.Add(new CaptureFrame(f.Number, f.LinkType, f.TimestampNanos, f.Data.ToArray(), f.OriginalLength, f.InterfaceId));
            }
        }

        var span = frames[^1].TimestampNanos - frames[0].TimestampNanos + 1_000_000;
        var events = 0;
        var notes = 0;
        var feed = new TrackerFeed((_, _) => events++, (_, _) => notes++);
        var loops = int.Parse(Environment.GetEnvironmentVariable("DIAG_LOOPS") ?? "30", System.Globalization.CultureInfo.InvariantCulture);
        long n = 0;
        for (var loop = 0; loop < loops; loop++)
        {
            var sw = Stopwatch.StartNew();
            var inputs = feed.Statistics.S1apMessages;
            foreach (var f in frames)
            {
                feed.Process(new CaptureFrame(++n, f.LinkType, f.TimestampNanos + (loop * span), f.Data, f.OriginalLength, f.InterfaceId));
            }

            var us = sw.Elapsed.TotalMicroseconds / Math.Max(1, feed.Statistics.S1apMessages - inputs);
            var l = feed.Live;
            if (loop == loops - 1 || loop == 0)
            {
                foreach (var g in l.Index.Ues.GroupBy(u => (u.Status, u.Imsi is null, u.MTmsi is null, u.MmeUeS1apId is null, u.Address is null, u.Bearers.Count, u.Connections.Count, u.Announced)))
                {
                    output.WriteLine($"  {g.Key} announced {g.Count(u => u.Announced)}: {g.Count()}");
                }

                output.WriteLine(l.Index.Diag());
            }

            output.WriteLine($"loop {loop}: {us:0.00} us/S1AP, events {events} notes {notes}, {l.Index.Sizes()}, enbs {l.Enbs.Count} sessions {l.Sessions.Count} pendingCS {l.PendingCreateSessions.Count}");
        }
    }
}
