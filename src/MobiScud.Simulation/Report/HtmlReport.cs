using System.Globalization;
using System.Net;
using System.Text;
using MobiScud.Simulation.Results;
using ScottPlot;

namespace MobiScud.Simulation.Report;

/// <summary>
/// A self-contained report page: the strategy table and ScottPlot PNGs inlined as data URIs, so the single
/// index.html opens anywhere without its folder.
/// </summary>
public static class HtmlReport
{
    public static void Write(SimulationResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "index.html"), Render(result));
        File.WriteAllText(Path.Combine(directory, "results.json"), result.ToJson());
    }

    public static string Render(SimulationResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MobiScud simulation: ")
            .Append(WebUtility.HtmlEncode(r.Scenario))
            .Append("</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}")
            .Append("td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#eee}td:first-child{text-align:left}img{max-width:100%;border:1px solid #ddd;margin:8px 0}</style></head><body>");
        sb.Append("<h1>MobiScud simulation: ").Append(WebUtility.HtmlEncode(r.Scenario)).Append("</h1>");
        sb.Append(inv, $"<p>{r.Ues} UEs, {r.Enbs} eNBs, {r.Sites} edge sites + core, {r.DurationSeconds / 60:0.#} simulated minutes{(r.WarmupSeconds > 0 ? string.Create(inv, $" scored after {r.WarmupSeconds / 60:0.#} min of warm-up") : string.Empty)}, seed {r.Seed}. ")
            .Append(inv, $"Handovers: {r.Ran.HandoversX2} X2, {r.Ran.HandoversS1} S1 ({r.Ran.InterSiteHandovers} between sites), {r.Ran.HandoversCancelled} cancelled; ")
            .Append(inv, $"{r.Ran.HandoversPerUeHour:0.0} per connected UE-hour. Wall time {r.WallSeconds:0.00} s, {r.EventsProcessed:N0} events.</p>");
        sb.Append("<table><tr><th>strategy</th><th>RTT p50 ms</th><th>p95</th><th>p99</th><th>probes</th><th>lost</th><th>migrations</th><th>migration p50 s</th><th>p95 s</th><th>downtime p50 ms</th><th>p95 ms</th><th>GB moved</th><th>invariant violations</th></tr>");
        foreach (var s in r.Strategies)
        {
            sb.Append(inv, $"<tr><td>{s.Strategy}</td><td>{s.RttP50Ms:0.00}</td><td>{s.RttP95Ms:0.00}</td><td>{s.RttP99Ms:0.00}</td><td>{s.ProbesSent:N0}</td><td>{s.ProbesLost:N0}</td>")
                .Append(inv, $"<td>{s.MigrationsCompleted:N0}</td><td>{Fmt(s.MigrationTimeP50S, "0.00")}</td><td>{Fmt(s.MigrationTimeP95S, "0.00")}</td><td>{Fmt(s.DowntimeP50Ms, "0.0")}</td><td>{Fmt(s.DowntimeP95Ms, "0.0")}</td><td>{s.GbMoved:0.000}</td><td>{s.InvariantViolations}</td></tr>");
        }

        sb.Append("</table>");
        sb.Append("<h2>RTT distribution</h2><p>Cumulative distribution of probe round-trip times (UE to its PVM and back) per strategy; lost probes are not included.</p>");
        sb.Append(Img(RttCdf(r), "RTT CDF per strategy"));
        if (r.Tracked is { } t)
        {
            sb.Append("<h2>One UE over time: ").Append(WebUtility.HtmlEncode(t.Ue)).Append("</h2><p>RTT of each probe; vertical lines are handovers, shaded bands are MobiScud's live migrations of this UE's PVM (darker: stop-and-copy downtime). Gaps are lost probes (idle periods send none).</p>");
            sb.Append(Img(TrackedPlot(t), "RTT over time of one UE"));
        }

        foreach (var s in r.Strategies)
        {
            sb.Append("<h2>PVMs per site: ").Append(s.Strategy).Append("</h2>");
            sb.Append(Img(PvmsPerSite(r, s), "PVMs per site over time, " + s.Strategy));
        }

        sb.Append("<p>Raw figures: <code>results.json</code> beside this page. Model and sources: docs/simulation.md.</p></body></html>");
        return sb.ToString();
    }

    private static string Fmt(double v, string format) => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);

    private static string Img(Plot plot, string alt)
    {
        var png = plot.GetImageBytes(1000, 420, ImageFormat.Png);
        return $"<img alt=\"{WebUtility.HtmlEncode(alt)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\">";
    }

    private static Plot RttCdf(SimulationResult r)
    {
        var plot = new Plot();
        foreach (var s in r.Strategies.Where(s => s.RttCdf.Count > 0))
        {
            var line = plot.Add.ScatterLine(s.RttCdf.Select(p => p[0]).ToArray(), s.RttCdf.Select(p => p[1]).ToArray());
            line.LegendText = s.Strategy;
            line.LineWidth = 2;
        }

        plot.XLabel("RTT (ms)");
        plot.YLabel("fraction of probes");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot TrackedPlot(ProbedUe t)
    {
        var plot = new Plot();
        var mobiscud = t.Lanes.FirstOrDefault(l => l.Strategy.StartsWith("mobiscud", StringComparison.Ordinal));
        if (mobiscud is not null)
        {
            foreach (var w in mobiscud.MigrationWindows)
            {
                var span = plot.Add.HorizontalSpan(w[0], w[2]);
                span.FillStyle.Color = Colors.Orange.WithAlpha(0.25);
                span.LineStyle.Width = 0;
                var pause = plot.Add.HorizontalSpan(w[1], w[2]);
                pause.FillStyle.Color = Colors.Red.WithAlpha(0.5);
                pause.LineStyle.Width = 0;
            }
        }

        foreach (var h in t.HandoverTimes)
        {
            var v = plot.Add.VerticalLine(h);
            v.LineWidth = 1;
            v.Color = Colors.Gray.WithAlpha(0.6);
            v.LinePattern = LinePattern.Dashed;
        }

        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < t.Lanes.Count; i++)
        {
            var lane = t.Lanes[i];
            var color = palette.GetColor(i);
            var first = true;
            // One line per run of answered probes: idle periods and lost probes show as gaps, not as joins.
            foreach (var (xs, ys) in Segments(lane.Times, lane.RttMs, gap: 3 * MedianStep(lane.Times)))
            {
                var line = plot.Add.ScatterLine(xs, ys);
                line.Color = color;
                line.LineWidth = 1.5f;
                if (first)
                {
                    line.LegendText = lane.Strategy;
                    first = false;
                }
            }
        }

        plot.XLabel("time (s)");
        plot.YLabel("RTT (ms)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static double MedianStep(float[] times)
    {
        if (times.Length < 2)
        {
            return 1;
        }

        var steps = times.Zip(times.Skip(1), (a, b) => (double)(b - a)).Order().ToList();
        return Math.Max(1e-3, steps[steps.Count / 2]);
    }

    private static IEnumerable<(double[] Xs, double[] Ys)> Segments(float[] times, float[] values, double gap)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (var i = 0; i < times.Length; i++)
        {
            var broken = float.IsNaN(values[i]) || (xs.Count > 0 && times[i] - xs[^1] > gap);
            if (broken && xs.Count > 0)
            {
                yield return (xs.ToArray(), ys.ToArray());
                xs.Clear();
                ys.Clear();
            }

            if (!float.IsNaN(values[i]))
            {
                xs.Add(times[i]);
                ys.Add(values[i]);
            }
        }

        if (xs.Count > 0)
        {
            yield return (xs.ToArray(), ys.ToArray());
        }
    }

    private static Plot PvmsPerSite(SimulationResult r, StrategyResult s)
    {
        var plot = new Plot();
        var xs = r.SampleTimes.Select(x => (double)x).ToArray();
        var shown = 0;
        foreach (var (site, counts) in s.PvmsPerSite.OrderByDescending(kv => kv.Value.Sum()))
        {
            if (counts.All(c => c == 0))
            {
                continue;
            }

            var line = plot.Add.ScatterLine(xs, counts.Select(c => (double)c).ToArray());
            line.LineWidth = 1.5f;
            // A legend of 50 sites helps nobody: name the busiest ten.
            if (shown++ < 10)
            {
                line.LegendText = site;
            }
        }

        plot.XLabel("time (s)");
        plot.YLabel("PVMs (running or suspended)");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
