using System.Globalization;
using System.Text;
using MobiScud.Control.Model;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Experiment;

/// <summary>What `testbed run` measured and wrote.</summary>
public sealed record ExperimentResult(
    string RunDir,
    string Pcap,
    string TimelineCsv,
    int S1apMessagesSent,
    long FramesTapped,
    IReadOnlyList<(string Message, double WireToDecisionMs)> HandoverDecisions,
    IReadOnlyList<string> Problems)
{
    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"pcap (S1-MME, RFC 6951 UDP 9899; open with `-d udp.port==9899,sctp`): {Pcap}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"MC timeline: {TimelineCsv}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"S1AP messages sent by the emulated EPC: {S1apMessagesSent}; frames on the tap: {FramesTapped}");
        foreach (var (m, ms) in HandoverDecisions)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {m}: wire -> MC commands {ms:0.00} ms");
        }

        foreach (var p in Problems)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  problem: {p}");
        }

        return sb.ToString().TrimEnd();
    }
}

/// <summary>
/// `mobiscud testbed run`: builds the testbed, starts the emulated EPC and the MC on the tap, attaches the UEs at
/// eNB 1, plays the handover schedule, and writes the pcap and the MC's timeline. Always tears down unless kept.
/// </summary>
public static class TestbedExperiment
{
    public static async Task<ExperimentResult> RunAsync(Scenario scenario, string runDir, TextWriter log, bool keep, CancellationToken cancellation)
    {
        var net = TestbedNetwork.Up(scenario, runDir);
        try
        {
            log.WriteLine($"testbed {net.Plan.Prefix} up in {runDir}");
            var pcap = Path.Combine(runDir, "s1.pcap");
            var epoch = DateTime.UtcNow;
            using var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, pcap);
            var executor = new LoggingExecutor(log);
            McTap mc;
            await using ((mc = new McTap(tap, net.Plan.McConfig(), executor, epoch)).ConfigureAwait(false))
            {
                await using var epc = await EpcEmulator.StartAsync(net.Plan);
                foreach (var ue in epc.Ues)
                {
                    await epc.AttachAsync(ue, 1);
                    log.WriteLine($"UE {ue.Imsi} attached at eNB 1 with {ue.Address}");
                }

                var start = DateTime.UtcNow;
                foreach (var step in scenario.Handovers.OrderBy(h => h.AtSeconds))
                {
                    var wait = start.AddSeconds(step.AtSeconds) - DateTime.UtcNow;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellation);
                    }

                    var ue = epc.Ues[step.Ue - 1];
                    log.WriteLine($"{step.AtSeconds,6:0.0}s UE {step.Ue}: {step.Procedure} handover eNB {ue.Enb} -> eNB {step.ToEnb}");
                    switch (step.Procedure)
                    {
                        case HandoverProcedure.X2:
                            await epc.X2HandoverAsync(ue, step.ToEnb);
                            break;
                        case HandoverProcedure.S1:
                            await epc.S1HandoverAsync(ue, step.ToEnb);
                            break;
                        case HandoverProcedure.S1Cancelled:
                            await epc.S1HandoverAsync(ue, step.ToEnb, cancel: true);
                            break;
                    }
                }

                var end = start.AddSeconds(scenario.DurationSeconds) - DateTime.UtcNow;
                if (end > TimeSpan.Zero)
                {
                    await Task.Delay(end, cancellation);
                }

                var expectedFrames = 2 * (epc.Log.Count / 2) + (4 * scenario.Enbs);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (tap.Captured < expectedFrames && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50, cancellation);
                }

                var timelineCsv = Path.Combine(runDir, "mc-timeline.csv");
                var decisions = WriteTimeline(mc, timelineCsv, epoch);
                return new ExperimentResult(runDir, pcap, timelineCsv, epc.Log.Count / 2, tap.Captured, decisions, mc.Problems.ToList());
            }
        }
        finally
        {
            if (!keep)
            {
                foreach (var p in net.Down())
                {
                    log.WriteLine($"teardown problem: {p}");
                }
            }
            else
            {
                net.StopLinks();
                log.WriteLine($"kept: `mobiscud testbed down --run-dir {runDir}` removes it (delay relays stopped with this process)");
            }
        }
    }

    private static List<(string, double)> WriteTimeline(McTap mc, string path, DateTime epoch)
    {
        var decisions = new List<(string, double)>();
        var sb = new StringBuilder("wire_s,handled_s,wire_to_decision_ms,message,event,commands\n");
        foreach (var e in mc.Timeline)
        {
            var ms = (e.HandledAt - e.WireTime).TotalMilliseconds;
            var commands = string.Join(" | ", e.Commands.Select(Describe));
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{(e.WireTime - epoch).TotalSeconds:0.000000},{(e.HandledAt - epoch).TotalSeconds:0.000000},{ms:0.000},{e.Message},\"{e.Event}\",\"{commands}\"");
            if (e.Event is { } ev && (ev.StartsWith("PathSwitched", StringComparison.Ordinal) || ev.StartsWith("HandoverCompleted", StringComparison.Ordinal) || ev.StartsWith("HandoverPrepared", StringComparison.Ordinal)))
            {
                decisions.Add(($"{e.Message} ({ev.Split(' ')[0]})", ms));
            }
        }

        File.WriteAllText(path, sb.ToString());
        return decisions;
    }

    private static string Describe(ControlCommand c) => c switch
    {
        CreatePvm p => $"CreatePvm {p.Pvm} at {p.Site}",
        StartMigration m => $"StartMigration {m.Pvm} {m.From}->{m.To}",
        InstallSteering s => $"InstallSteering at {s.Intent.SwitchSite} enb {s.Intent.Enb} pvm@{s.Intent.PvmSite}",
        RemoveSteering r => $"RemoveSteering at {r.SwitchSite}",
        Notify n => $"Notify {n.Kind}",
        _ => c.GetType().Name,
    };

    /// <summary>Prints each command; the OVS and QEMU adapters are not wired into `testbed run` yet.</summary>
    private sealed class LoggingExecutor(TextWriter log) : ICommandExecutor
    {
        public Task ExecuteAsync(ControlCommand command, CancellationToken cancellation)
        {
            if (command is not Notify)
            {
                lock (log)
                {
                    log.WriteLine($"  MC -> {Describe(command)}");
                }
            }

            return Task.CompletedTask;
        }
    }
}
