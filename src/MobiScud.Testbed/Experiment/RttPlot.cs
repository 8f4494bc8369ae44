using MobiScud.Testbed.Emulation;
using ScottPlot;

namespace MobiScud.Testbed.Experiment;

/// <summary>The paper's figure: RTT to the edge PVM (MobiScud) and to the core-anchored PVM over time, with handovers and migrations marked.</summary>
internal static class RttPlot
{
    public static void Write(string path, IReadOnlyList<PingSample> samples, IReadOnlyList<HandoverMeasurement> handovers, IReadOnlyList<MigrationMeasurement> migrations)
    {
        var plot = new Plot();
        foreach (var m in migrations)
        {
            var span = plot.Add.HorizontalSpan(m.StartedSeconds, m.CompletedSeconds);
            span.FillStyle.Color = Colors.Orange.WithAlpha(0.25);
            span.LineStyle.Width = 0;
        }

        var labelled = false;
        foreach (var h in handovers.Where(h => h.Stage == HandoverStage.Completed))
        {
            var v = plot.Add.VerticalLine(h.WireSeconds);
            v.LineWidth = 1;
            v.Color = Colors.Gray;
            v.LinePattern = LinePattern.Dashed;
            if (!labelled)
            {
                v.LegendText = "handover (S1AP on the wire)";
                labelled = true;
            }
        }

        var palette = new ScottPlot.Palettes.Category10();
        var series = new[] { (TestbedExperiment.EdgePvm, "PVM at the edge (MobiScud)"), (TestbedExperiment.CorePvmTarget, "PVM in the core"), (TestbedExperiment.Internet, "internet server") };
        for (var i = 0; i < series.Length; i++)
        {
            var (target, label) = series[i];
            var answered = samples.Where(s => s.Target == target && s.RttMs is not null).ToList();
            if (answered.Count == 0)
            {
                continue;
            }

            var scatter = plot.Add.ScatterPoints(answered.Select(s => s.SentAtSeconds).ToArray(), answered.Select(s => s.RttMs!.Value).ToArray());
            scatter.Color = palette.GetColor(i);
            scatter.MarkerSize = 3;
            scatter.LegendText = label;
            var lost = samples.Where(s => s.Target == target && s.RttMs is null).ToList();
            if (lost.Count > 0)
            {
                var marks = plot.Add.ScatterPoints(lost.Select(s => s.SentAtSeconds).ToArray(), lost.Select(_ => 0.0).ToArray());
                marks.Color = palette.GetColor(i);
                marks.MarkerShape = MarkerShape.Cross;
                marks.MarkerSize = 6;
                marks.LegendText = $"{label}: lost";
            }
        }

        plot.Title("RTT from the UE (orange: PVM live migration)");
        plot.XLabel("time (s)");
        plot.YLabel("RTT (ms)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1200, 500);
    }
}
