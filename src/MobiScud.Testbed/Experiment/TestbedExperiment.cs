using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MobiScud.Capture;
using MobiScud.Cloud;
using MobiScud.Cloud.Qemu;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;
using MobiScud.Tracking;

namespace MobiScud.Testbed.Experiment;

/// <summary>One live migration as the hypervisor reported it.</summary>
/// <param name="DowntimeMs">QEMU's downtime figure (source side).</param>
/// <param name="PauseMs">Source STOP to destination RESUME by QEMU's event time stamps: the guest's real interruption.</param>
/// <param name="CompletedToFlowsMs">From the hypervisor's completion report to the switches confirming the steering to the new site.</param>
/// <param name="StoppedSeconds">When the source stopped for the switch-over (QEMU's STOP event), if known.</param>
public sealed record MigrationMeasurement(string From, string To, double StartedSeconds, double CompletedSeconds, double TotalMs, double DowntimeMs, double? PauseMs, long BytesSent, double? CompletedToFlowsMs, double? StoppedSeconds)
{
    /// <summary>
    /// How long the PVM was out of the UE's reach: from the source's stop to the switches steering to the
    /// destination (the destination may run before the MC hears of it; until the flows change, traffic still goes to
    /// the stopped source). Without a stop time stamp: QEMU's pause (or downtime) plus completion-to-flows.
    /// </summary>
    public double OutageMs =>
        StoppedSeconds is { } stopped && CompletedToFlowsMs is { } flows
            ? ((CompletedSeconds - stopped) * 1000) + flows
            : (PauseMs ?? DowntimeMs) + (CompletedToFlowsMs ?? 0);
}

/// <summary>The pings to one target: how many, how many lost, and the RTT distribution of the answered ones.</summary>
public sealed record PingSummary(string Target, int Sent, int Lost, double? MedianMs, double? P95Ms)
{
    public static PingSummary Of(string target, IReadOnlyList<PingSample> samples)
    {
        var all = samples.Where(s => s.Target == target).ToList();
        var rtts = all.Where(s => s.RttMs is not null).Select(s => s.RttMs!.Value).Order().ToList();
        return new PingSummary(target, all.Count, all.Count - rtts.Count, Quantile(rtts, 0.5), Quantile(rtts, 0.95));
    }

    private static double? Quantile(List<double> sorted, double q) =>
        sorted.Count == 0 ? null : sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(q * sorted.Count))];
}

/// <summary>
/// What `testbed run` measured and wrote. Everything the MC did is here as records (<see cref="Timeline"/>,
/// <see cref="Handovers"/>, <see cref="Migrations"/>, <see cref="Problems"/>); the files and <see cref="Summary"/> are
/// rendered from them.
/// </summary>
public sealed record ExperimentResult(
    string RunDir,
    string Pcap,
    string TimelineCsv,
    string RttCsv,
    string RttPlot,
    int S1apMessagesSent,
    long FramesTapped,
    IReadOnlyList<HandoverMeasurement> Handovers,
    IReadOnlyList<MigrationMeasurement> Migrations,
    IReadOnlyList<PingSummary> Pings,
    IReadOnlyList<PingSample> Samples,
    double PingIntervalMs,
    string? PvmState,
    bool PvmStatePreserved,
    IReadOnlyList<TestbedProblem> Problems,
    TestbedRat Rat = TestbedRat.Lte,
    IReadOnlyList<TestbedStepReport>? Steps = null)
{
    /// <summary>The run's start: event times (<see cref="UeEvent.At"/>) and the seconds of the other records count from it.</summary>
    public DateTimeOffset Epoch { get; init; }

    /// <summary>Every event the MC handled (from the tap, or a backend's outcome) with the commands it sent for it, in order.</summary>
    internal IReadOnlyList<McTimelineEntry> Timeline { get; init; } = [];

    /// <summary>Every command of type <typeparamref name="T"/> the MC sent, with the timeline entry it was decided in.</summary>
    internal IEnumerable<(McTimelineEntry Entry, T Command)> Commands<T>()
        where T : ControlCommand => Timeline.SelectMany(e => e.Commands.OfType<T>().Select(c => (e, c)));

    public PingSummary Ping(string target) => Pings.First(p => p.Target == target);

    /// <summary>
    /// The most edge-PVM pings a run may lose, from what it measured: each handover loses at most the pings sent
    /// between the UE moving (<see cref="TestbedStepReport.MovedSeconds"/>) and the new flows being confirmed (its
    /// wire-to-flows time after the message the MC acted on); each migration those sent in its outage (source
    /// stopped until the flows to the destination are confirmed); each window also the pings in flight when it opened
    /// (the edge RTT's p95), plus one for rounding.
    /// </summary>
    public (int Bound, string Why) PvmLossBound(double intervalMs)
    {
        var rtt = Ping(TestbedExperiment.EdgePvm).P95Ms ?? 0;
        var parts = new List<string>();
        var bound = 0;
        foreach (var h in Handovers.Where(h => h.WireToFlowsConfirmedMs is not null))
        {
            // The UE is at the target before the target's message (X2 Path Switch Request, S1 Handover Notify) crosses
            // the backhaul to the core and the tap: its traffic meets the old flows from then on.
            var windowMs = h.WireToFlowsConfirmedMs!.Value + ((h.WireSeconds - MovedBefore(h)) * 1000);
            var n = (int)Math.Ceiling((windowMs + rtt) / intervalMs) + 1;
            bound += n;
            parts.Add($"{h.Name}: ({windowMs:0} + {rtt:0}) ms -> {n}");
        }

        foreach (var m in Migrations)
        {
            var n = (int)Math.Ceiling((m.OutageMs + rtt) / intervalMs) + 1;
            bound += n;
            parts.Add($"migration {m.From}->{m.To}: ({m.OutageMs:0} + {rtt:0}) ms -> {n}");
        }

        return (bound, string.Join("; ", parts));
    }

    /// <summary>When the UE of <paramref name="h"/> last moved before the MC saw the handover (its wire time if no step says).</summary>
    private double MovedBefore(HandoverMeasurement h) =>
        (Steps ?? [])
            .Where(s => s.MovedSeconds <= h.WireSeconds && new UeId($"imsi-{TestbedPlan.ImsiOf(s.Ue)}") == h.Event.Ue)
            .Select(s => s.MovedSeconds!.Value)
            .DefaultIfEmpty(h.WireSeconds)
            .Max();

    public string Summary()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        var nr = Rat == TestbedRat.Nr;
        sb.AppendLine(inv, $"pcap ({(nr ? "N2" : "S1-MME")} over RFC 6951 UDP 9899, {(nr ? "N3" : "S1-U")} GTP-U; open with `-d udp.port==9899,sctp`): {Pcap}");
        sb.AppendLine(inv, $"MC timeline: {TimelineCsv}");
        sb.AppendLine(inv, $"RTT timeline: {RttCsv} and {RttPlot}");
        sb.AppendLine(inv, $"{(nr ? "NGAP" : "S1AP")} messages sent by the emulated core and RAN: {S1apMessagesSent}; frames on the tap: {FramesTapped}");
        sb.AppendLine("pings (every target, every interval):");
        foreach (var p in Pings)
        {
            sb.AppendLine(inv, $"  {p.Target,-9} sent {p.Sent,5}  lost {p.Lost,4}  median {Ms(p.MedianMs)}  p95 {Ms(p.P95Ms)}");
        }

        var (bound, why) = PvmLossBound(PingIntervalMs);
        sb.AppendLine(inv, $"edge PVM pings lost: {Ping(TestbedExperiment.EdgePvm).Lost}, bound {bound} ({why})");
        sb.AppendLine(inv, $"handovers (wire time of the {(nr ? "NGAP" : "S1AP")} message -> MC decision -> flows confirmed by OVS barrier):");
        foreach (var h in Handovers)
        {
            sb.AppendLine(inv, $"  {h.WireSeconds,7:0.000}s {h.Name}: decision {h.WireToDecisionMs:0.00} ms, flows confirmed {Ms(h.WireToFlowsConfirmedMs)}");
        }

        sb.AppendLine("migrations:");
        foreach (var m in Migrations)
        {
            sb.AppendLine(inv, $"  {m.From} -> {m.To} at {m.StartedSeconds:0.000}s: total {m.TotalMs:0} ms, downtime {m.DowntimeMs:0.0} ms (QEMU), paused {Ms(m.PauseMs)} (STOP -> RESUME), {m.BytesSent / 1048576.0:0.0} MiB, completion -> flows confirmed {Ms(m.CompletedToFlowsMs)}, outage {m.OutageMs:0} ms (STOP -> flows)");
        }

        sb.AppendLine(inv, $"PVM state: {PvmState ?? "not checked"}");
        foreach (var p in Problems)
        {
            sb.AppendLine(inv, $"  problem: {p}");
        }

        return sb.ToString().TrimEnd();
    }

    private static string Ms(double? v) => v is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + " ms" : "-";
}

/// <summary>
/// `mobiscud testbed run`: builds the testbed, connects every site's OVS to the MC's OpenFlow controller, starts
/// the emulated EPC, the MC on the tap, the PVM backend (QEMU or namespaces) and a core-anchored PVM behind the
/// P-GW, attaches the UEs at eNB 1, pings the edge PVM, the core PVM and the internet server from every UE while
/// the handover schedule plays, and writes the pcap, the MC's timeline and the RTT timeline (CSV and PNG).
/// Tears everything down unless kept.
/// </summary>
public static class TestbedExperiment
{
    public const string EdgePvm = "pvm";
    public const string CorePvmTarget = "core-pvm";
    public const string Internet = "internet";
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan _lostAfter = TimeSpan.FromSeconds(1);

    /// <param name="log">The run's progress (what it does, step by step): `testbed run` prints it on stdout.</param>
    /// <param name="observe">Given the plan once the testbed is up: what watches the MC (the dashboard of `testbed run --dashboard`).</param>
    /// <param name="loggers">Diagnostics of the run and of every adapter it builds (emulators, tap, MC, OpenFlow, QEMU).</param>
    public static async Task<ExperimentResult> RunAsync(Scenario scenario, string runDir, TextWriter log, bool keep, CancellationToken cancellation, Func<TestbedPlan, TestbedMcHooks>? observe = null, ILoggerFactory? loggers = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        var logger = loggers.CreateLogger(typeof(TestbedExperiment));
        GuestImage? image = null;
        if (scenario.Pvm == PvmBackend.Qemu)
        {
            logger.LogInformation("guest image: building or reusing the cached one");
            image = await GuestImageBuilder.EnsureAsync(ct: cancellation);
        }

        var net = TestbedNetwork.Up(scenario, runDir);
        var plan = net.Plan;
        var problems = new List<TestbedProblem>();
        var steps = new List<TestbedStepReport>();
        try
        {
            log.WriteLine($"testbed {plan.Prefix} up in {runDir}");
            var epoch = TimeProvider.System.GetUtcNow().UtcDateTime;
            var epochTicks = TimeProvider.System.GetTimestamp();
            TimeSpan Clock() => TimeProvider.System.GetUtcNow().UtcDateTime - epoch;

            await using var controller = new OpenFlowController(new OpenFlowControllerOptions
            {
                TcpEndPoint = null,
                UnixSocketPath = plan.ControllerSocket,
                ReaderRealtimePriority = scenario.SwitchRealtimePriority > 0 ? scenario.SwitchRealtimePriority : null,
            }, loggers.CreateLogger<OpenFlowController>());
            controller.Start();
            var datapathSync = net.DatapathSync();
            await using var syncs = new AsyncDisposables(datapathSync.Values);
            var programmer = new OpenFlowSteeringProgrammer(controller, plan.SdnTopology(), datapathSync);
            net.ConnectController(plan.ControllerSocket);
            for (var site = 0; site < scenario.Sites; site++)
            {
                await controller.WaitForSwitchAsync(TestbedPlan.DatapathId(site), cancellation).WaitAsync(_patience, cancellation);
            }

            log.WriteLine($"{scenario.Sites} site switches connected to the OpenFlow controller");
            if (controller.ReaderPriorityProblem is { } priorityProblem)
            {
                problems.Add(new TestbedProblem(TestbedProblemSource.SwitchPriority, $"switchRealtimePriority: {priorityProblem}"));
                logger.LogWarning("switch reader threads at normal priority: {Problem}", priorityProblem);
            }

            using var strippers = await StartN3StepsAsync(scenario, plan, controller, log);
            // The tap's capture: S1-MME and S1-U (LTE), or N2 and N3 (5G).
            var pcap = Path.Combine(runDir, scenario.Rat == TestbedRat.Nr ? "n2.pcap" : "s1.pcap");
            if (scenario.CodeWarmup)
            {
                var warm = CodeWarmup.Prepare([typeof(LiveCaptureSource).Assembly, typeof(LinkType).Assembly, typeof(TrackerFeed).Assembly, typeof(MobiScudControl).Assembly, typeof(ProgrammerSteeringBackend).Assembly]);
                log.WriteLine($"code warm-up: {warm.Methods} methods compiled ({warm.Failed} left to their first call) in {warm.Elapsed.TotalSeconds:0.0} s");
            }

            var tapLogger = loggers.CreateLogger<BackhaulTap>();
            using var tap = BackhaulTap.Open(plan.CoreNs, TestbedPlan.MirrorDevice, pcap, summary => tapLogger.LogInformation("{Summary}", summary), scenario.TapRealtimePriority > 0 ? scenario.TapRealtimePriority : null);
            using var pauses = new RuntimePauses();
            await using var pvms = CreateHypervisor(scenario, net, image, Clock, loggers.CreateLogger<QemuHypervisor>(), out var qemu);
            await using var corePvm = await CorePvm.StartAsync(scenario, net, image, cancellation, loggers.CreateLogger<CorePvm>());
            log.WriteLine($"core-anchored PVM at {TestbedPlan.CorePvmAddress} (behind the P-GW)");
            var qemuReports = new List<QemuMigrationReport>();
            if (qemu is not null)
            {
                qemu.MigrationReported += r =>
                {
                    lock (qemuReports)
                    {
                        qemuReports.Add(r);
                    }
                };
            }

            var topology = plan.SdnTopology();
            var steering = new ProgrammerSteeringBackend(
                programmer, topology, async (site, _) => [.. (await controller.DumpFlowsAsync(topology[site].DatapathId)).Select(FlowEntry.FromStats)], Clock);
            await using var pvmBackend = new HypervisorBackend(pvms);
            TestbedMc mc;
            var hooks = observe?.Invoke(plan);
            await using ((mc = new TestbedMc(tap.Frames, plan.McConfig(), pvmBackend, steering, epoch, onEntry: e => LogCommands(e, log), hooks: hooks, log: loggers.CreateLogger<TestbedMc>())).ConfigureAwait(false))
            {
                var nr = scenario.Rat == TestbedRat.Nr;
                await using var epc = nr ? (IRanEmulator)await NgcEmulator.StartAsync(plan, loggers.CreateLogger<NgcEmulator>()) : await EpcEmulator.StartAsync(plan, loggers.CreateLogger<EpcEmulator>());
                var targets = new[] { new PingTarget(EdgePvm), new PingTarget(CorePvmTarget, TestbedPlan.CorePvmAddress), new PingTarget(Internet, TestbedPlan.InternetServerAddress) };
                using var up = UserPlane.Start(plan, epc.Ues, targets, epochTicks);
                up.Answered = hooks?.Ping;
                foreach (var ue in epc.Ues)
                {
                    await epc.AttachAsync(ue, 1);
                    log.WriteLine(nr ? $"UE {ue.Imsi} registered at gNB 1, PDU session with {ue.Address}" : $"UE {ue.Imsi} attached at eNB 1 with {ue.Address}");
                }

                // Each PVM's address comes from the hypervisor (PvmStarted); then the MC steers and its UE can reach it.
                PvmStarted? first = null;
                foreach (var ue in epc.Ues)
                {
                    var ueId = new UeId($"imsi-{ue.Imsi}");
                    var pvm = await WaitAsync(() => mc.Timeline.Select(e => e.Event).OfType<PvmStarted>().FirstOrDefault(p => p.Ue == ueId && p.Address is not null), $"the PVM of UE {ue.Index}", cancellation);
                    await WaitAsync(() => steering.Results.Any(s => s.Confirmed && s.Install?.Intent is { } i && i.Ue == ueId && i.PvmAddress is not null) ? true : (bool?)null, $"steering toward the PVM of UE {ue.Index}", cancellation);
                    targets[0].SetFor(ue.Index, pvm.Address!);
                    first ??= pvm;
                    log.WriteLine($"UE {ue.Index}: PVM {pvm.Pvm} running at site {pvm.Site} with {pvm.Address}; steering confirmed");
                }

                var started = first!;
                var state = qemu is null ? null : await GuestState.CaptureAsync(qemu, started.Pvm, plan.Prefix, cancellation);
                up.StartPinging(TimeSpan.FromMilliseconds(scenario.PingIntervalMs));
                var start = TimeProvider.System.GetUtcNow().UtcDateTime;
                foreach (var step in scenario.Handovers.OrderBy(h => h.AtSeconds))
                {
                    var wait = start.AddSeconds(step.AtSeconds) - TimeProvider.System.GetUtcNow().UtcDateTime;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellation);
                    }

                    var ue = epc.Ues[step.Ue - 1];
                    var report = TestbedStepReport.Of(scenario.Rat, step, ue.Enb, Clock().TotalSeconds);
                    steps.Add(report);
                    log.WriteLine(report.ToString());
                    switch (step.Procedure)
                    {
                        case HandoverProcedure.X2 or HandoverProcedure.Xn:
                            await epc.X2HandoverAsync(ue, step.ToEnb);
                            break;
                        case HandoverProcedure.S1 or HandoverProcedure.N2:
                            await epc.S1HandoverAsync(ue, step.ToEnb);
                            break;
                        case HandoverProcedure.S1Cancelled or HandoverProcedure.N2Cancelled:
                            await epc.S1HandoverAsync(ue, step.ToEnb, cancel: true);
                            break;
                        case HandoverProcedure.Idle:
                            await epc.ReleaseToIdleAsync(ue);
                            break;
                        case HandoverProcedure.ServiceRequest:
                            await epc.ServiceRequestAsync(ue, step.ToEnb);
                            break;
                    }

                    if (ue.MovedAt is { } moved && moved >= epoch + TimeSpan.FromSeconds(report.AtSeconds))
                    {
                        steps[^1] = report with { MovedSeconds = (moved - epoch).TotalSeconds };
                    }
                }

                var end = start.AddSeconds(scenario.DurationSeconds) - TimeProvider.System.GetUtcNow().UtcDateTime;
                if (end > TimeSpan.Zero)
                {
                    await Task.Delay(end, cancellation);
                }

                up.StopPinging();
                await Task.Delay(_lostAfter, cancellation); // a ping unanswered a second after it left counts as lost
                var samples = up.Samples(_lostAfter);
                log.WriteLine($"user plane: {up.Counters}");
                if (strippers.Steps.Count > 0)
                {
                    log.WriteLine($"N3 uplink steps: {string.Join(", ", strippers.Steps.Select(x => $"{x.Stripped} G-PDUs to a PVM without extension headers, {x.Passed} passed unchanged"))}");
                }

                var preserved = true;
                string? stateText = null;
                if (state is not null)
                {
                    (preserved, stateText) = await state.VerifyAsync(qemu!, cancellation);
                }

                var sent = epc.Signalling.Count(r => r.Sent);
                var expectedFrames = (2 * sent) + (4 * scenario.Enbs);
                var deadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(10);
                while (tap.Captured < expectedFrames && TimeProvider.System.GetUtcNow().UtcDateTime < deadline)
                {
                    await Task.Delay(50, cancellation);
                }

                // Steering decided last may still be waiting for the switches: its confirmation belongs in the timeline.
                await mc.WhenDispatchedAsync().WaitAsync(_patience, cancellation);
                var stops = pauses.Pauses;
                log.WriteLine($"runtime pauses during the run: {stops.Count} ({stops.Count(p => p.Generation is not null)} garbage collections), {stops.Sum(p => p.Duration.TotalMilliseconds):0.0} ms in all, longest {(stops.Count == 0 ? 0 : stops.Max(p => p.Duration.TotalMilliseconds)):0.0} ms");
                if (tap.PriorityProblem is { } tapPriority)
                {
                    problems.Add(new TestbedProblem(TestbedProblemSource.TapPriority, $"tapRealtimePriority: {tapPriority}"));
                }

                var timelineCsv = Path.Combine(runDir, "mc-timeline.csv");
                var timeline = mc.Timeline.ToArray();
                var handovers = WriteTimeline(timeline, steering, timelineCsv, epoch, stops, nr);
                var migrations = Migrations(timeline, steering, qemuReports, epoch);
                var rttCsv = Path.Combine(runDir, "rtt.csv");
                WriteRttCsv(samples, rttCsv);
                var rttPng = Path.Combine(runDir, "rtt.png");
                RttPlot.Write(rttPng, samples, handovers, migrations);
                problems.AddRange(epc.Problems.Select(p => new TestbedProblem(TestbedProblemSource.Emulator, p.Problem) { Node = p.Node }));
                problems.AddRange(mc.Problems);
                problems.AddRange(steering.Results.Where(r => r.Problem is not null).Select(r => new TestbedProblem(TestbedProblemSource.Steering, r.Problem!) { Ue = r.Install?.Ue ?? r.Remove?.Ue }));
                var pings = new[] { EdgePvm, CorePvmTarget, Internet }.Select(t => PingSummary.Of(t, samples)).ToList();
                return new ExperimentResult(runDir, pcap, timelineCsv, rttCsv, rttPng, sent, tap.Captured, handovers, migrations, pings, samples, scenario.PingIntervalMs, stateText, preserved, problems, scenario.Rat, steps)
                {
                    Epoch = new DateTimeOffset(epoch, TimeSpan.Zero),
                    Timeline = timeline,
                };
            }
        }
        finally
        {
            if (!keep)
            {
                foreach (var p in net.Down())
                {
                    logger.LogWarning("teardown problem: {Problem}", p);
                }
            }
            else
            {
                net.StopLinks();
                log.WriteLine($"kept: `mobiscud testbed down --run-dir {runDir}` removes it (delay relays and PVMs stopped with this process)");
            }
        }
    }

    /// <summary>The N3 uplink steps of every site (5G only; none for LTE), disposed together.</summary>
    private sealed class N3Steps : IDisposable
    {
        public List<N3UplinkStripper> Steps { get; } = [];

        public void Dispose()
        {
            foreach (var s in Steps)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>
    /// 5G: each site's N3 uplink step and its flows, so uplink G-PDUs with the PDU Session Container reach the PVM
    /// (OVS 3.1's gtpu port does not skip extension headers; docs/sdn.md). The flows are held by the controller under
    /// their own cookie, so its reconciliation keeps them.
    /// </summary>
    private static async Task<N3Steps> StartN3StepsAsync(Scenario scenario, TestbedPlan plan, OpenFlowController controller, TextWriter log)
    {
        var steps = new N3Steps();
        if (scenario.Rat != TestbedRat.Nr)
        {
            return steps;
        }

        try
        {
            var topology = plan.SdnTopology();
            for (var site = 0; site < scenario.Sites; site++)
            {
                steps.Steps.Add(N3UplinkStripper.Start(plan.SiteNs(site), plan.N3StripHostEnd(site), IPNetwork.Parse(TestbedPlan.PvmSubnet)));
                var flows = N3UplinkStripper.Flows(topology[new SiteId(Scenario.SiteName(site))], TestbedPlan.N3StripOfPort);
                var r = await controller.ReplaceFlowsAsync(TestbedPlan.DatapathId(site), N3UplinkStripper.Cookie, flows);
                if (!r.Confirmed || !r.Ok)
                {
                    throw new TestbedException($"site {Scenario.SiteName(site)}: the N3 uplink step's flows were not taken ({r.Rejections.Count} rejected, timed out: {r.TimedOut})");
                }
            }

            log.WriteLine($"N3 uplink steps running at {scenario.Sites} sites (gNB uplink GTP-U through them; docs/sdn.md)");
            return steps;
        }
        catch
        {
            steps.Dispose();
            throw;
        }
    }

    private static IHypervisor CreateHypervisor(Scenario scenario, TestbedNetwork net, GuestImage? image, Func<TimeSpan> clock, ILogger logger, out QemuHypervisor? qemu)
    {
        var plan = net.Plan;
        if (scenario.Pvm == PvmBackend.Netns)
        {
            qemu = null;
            return new NetnsPvmHost(net, clock);
        }

        qemu = new QemuHypervisor(new QemuHypervisorOptions
        {
            Image = image!,
            DefaultSpec = new PvmSpec(scenario.PvmMemoryMiB),
            Policy = scenario.Migration.ToPolicy(),
            Clock = clock,
            Logger = logger,
            DataNetwork = new QemuDataNetwork(IPNetwork.Parse(TestbedPlan.PvmSubnet), TestbedPlan.PvmGateway, TestbedPlan.Mac(TestbedPlan.PvmGatewayMac), IPAddress.Parse("10.64.0.10"), IPAddress.Parse("10.64.0.250"))
            {
                Routes = [IPNetwork.Parse(TestbedPlan.UePool)],
            },
        });
        var basePort = FreePortBase();
        for (var site = 0; site < scenario.Sites; site++)
        {
            qemu.AddSite(new QemuSite(new SiteId(Scenario.SiteName(site)), Path.Combine(plan.RunDirHint!, $"pvm-{Scenario.SiteName(site)}"), basePort + (site * 100), 100)
            {
                DataBridge = new QemuDataBridge(plan.PvmHostBridge(site), plan.SiteNs(site)),
            });
        }

        return qemu;
    }

    /// <summary>A port range unlikely to be in use: QEMU's forwarded and migration ports for this run, below Linux's
    /// ephemeral range (32768-60999), where an outgoing connection could take a port before QEMU listens on it.</summary>
    internal static int FreePortBase() => 20000 + (Random.Shared.Next(0, 120) * 100);

    private static async Task<T> WaitAsync<T>(Func<T?> probe, string what, CancellationToken ct)
    {
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime + _patience;
        while (true)
        {
            if (probe() is { } v)
            {
                return v;
            }

            if (TimeProvider.System.GetUtcNow().UtcDateTime > deadline)
            {
                throw new TestbedException($"timed out after {_patience.TotalSeconds:0} s waiting for {what}");
            }

            await Task.Delay(20, ct);
        }
    }

    /// <summary>Writes the timeline's files (rendered from its records) and returns its handover steps on the tap.</summary>
    private static List<HandoverMeasurement> WriteTimeline(IReadOnlyList<McTimelineEntry> timeline, ProgrammerSteeringBackend steering, string path, DateTime epoch, IReadOnlyList<RuntimePause> pauses, bool gnb)
    {
        var handovers = new List<HandoverMeasurement>();
        var prepared = new Dictionary<UeId, HandoverPrepared>();
        var sb = new StringBuilder("wire_s,handled_s,wire_to_decision_ms,wire_to_flows_confirmed_ms,frame,event,commands\n");
        foreach (var e in timeline)
        {
            var ms = ((e.DecidedAt ?? e.HandledAt) - e.WireTime).TotalMilliseconds;
            var flows = FlowsConfirmedMs(e, steering);
            var commands = string.Join(" | ", e.Commands.Select(Describe));
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{(e.WireTime - epoch).TotalSeconds:0.000000},{(e.HandledAt - epoch).TotalSeconds:0.000000},{ms:0.000},{flows?.ToString("0.000", CultureInfo.InvariantCulture)},{e.Frame},\"{Describe(e.Event)}\",\"{commands}\"");
            if (e.FromTap && HandoverMeasurement.Classify(e.Event, prepared.GetValueOrDefault(e.Event.Ue), gnb) is { } step)
            {
                handovers.Add(new HandoverMeasurement(step.Stage, step.Interface, e.Event, (e.WireTime - epoch).TotalSeconds, ms, flows));
            }

            if (e.Event is HandoverPrepared p)
            {
                prepared[p.Ue] = p;
            }
        }

        File.WriteAllText(path, sb.ToString());
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, "steering-stages.csv"), SteeringStagesCsv(timeline, steering));
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, "decision-stages.csv"), DecisionStagesCsv(timeline, pauses));
        File.WriteAllText(
            Path.Combine(Path.GetDirectoryName(path)!, "runtime-pauses.csv"),
            "start_s,end_s,ms,reason,generation\n" + string.Concat(pauses.Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{(p.Start - epoch).TotalSeconds:0.000000},{(p.End - epoch).TotalSeconds:0.000000},{p.Duration.TotalMilliseconds:0.000},{p.Reason},{p.Generation}\n"))));
        return handovers;
    }

    /// <summary>
    /// Per tap event the MC decided on: wire -> decision split into its stages (ms, each since the previous stamp),
    /// how long the runtime was paused within it (garbage collections and other suspensions), and whether it ran on the
    /// tap's thread (bench/scripts/testbed-reaction.py decision).
    /// </summary>
    private static string DecisionStagesCsv(IReadOnlyList<McTimelineEntry> timeline, IReadOnlyList<RuntimePause> pauses)
    {
        var sb = new StringBuilder("frame,event,wire_to_read_ms,read_to_dequeued_ms,dequeued_to_tracked_ms,tracked_to_turn_ms,turn_to_decided_ms,wire_to_decision_ms,runtime_paused_ms,on_tap_thread\n");
        static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture);
        foreach (var e in timeline)
        {
            if (e.Stages is not { Read: { } read } st || e.DecidedAt is not { } decided)
            {
                continue;
            }

            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{e.Frame},{e.Event.GetType().Name},{Ms(read - e.WireTime)},{Ms(st.Dequeued - read)},{Ms(st.Tracked - st.Dequeued)},{Ms(st.Turn - st.Tracked)},{Ms(decided - st.Turn)},{Ms(decided - e.WireTime)},{Ms(RuntimePauses.Within(pauses, e.WireTime, decided))},{(st.OnTapThread ? 1 : 0)}");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Per tap event that steered: wire -> flows confirmed split into its stages (ms), for finding where the tail goes
    /// (bench/scripts/testbed-reaction.py stages). Each column is the time since the previous stamp.
    /// </summary>
    private static string SteeringStagesCsv(IReadOnlyList<McTimelineEntry> timeline, ProgrammerSteeringBackend steering)
    {
        var sb = new StringBuilder("frame,event,wire_to_decision_ms,decision_to_written_ms,written_to_barrier_read_ms,barrier_read_to_resumed_ms,resumed_to_flush_sent_ms,flush_sent_to_reply_ms,flush_reply_to_confirmed_ms,wire_to_flows_confirmed_ms\n");
        static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture);
        foreach (var e in timeline.Where(e => e.FromTap))
        {
            var done = e.Commands.OfType<InstallSteering>()
                .Select(c => steering.Results.FirstOrDefault(s => s.Install?.Intent == c.Intent && s.Confirmed))
                .FirstOrDefault(s => s?.Stages is not null);
            if (done?.Stages is not { } st)
            {
                continue;
            }

            var decided = e.DecidedAt ?? e.HandledAt;
            var flushSent = st.FlushSent ?? st.Resumed;
            var flushReplied = st.FlushReplied ?? flushSent;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{e.Frame},{e.Event.GetType().Name},{Ms(decided - e.WireTime)},{Ms(st.Written - decided)},{Ms(st.BarrierRead - st.Written)},{Ms(st.Resumed - st.BarrierRead)},{Ms(flushSent - st.Resumed)},{Ms(flushReplied - flushSent)},{Ms(done.Finished - flushReplied)},{Ms(done.Finished - e.WireTime)}");
        }

        return sb.ToString();
    }

    /// <summary>From the cause of a timeline entry (wire message or backend outcome) to the first of its steering changes confirmed on OVS.</summary>
    private static double? FlowsConfirmedMs(McTimelineEntry e, ProgrammerSteeringBackend steering) =>
        e.Commands.OfType<InstallSteering>()
            .Select(c => steering.Results.FirstOrDefault(s => s.Install?.Intent == c.Intent && s.Confirmed) is { } done ? (double?)(done.Finished - e.WireTime).TotalMilliseconds : null)
            .Where(x => x is not null)
            .DefaultIfEmpty()
            .Min();

    private static List<MigrationMeasurement> Migrations(IReadOnlyList<McTimelineEntry> timeline, ProgrammerSteeringBackend steering, List<QemuMigrationReport> reports, DateTime epoch)
    {
        var starts = timeline.SelectMany(e => e.Commands.OfType<StartMigration>().Select(m => (m, e.HandledAt))).ToList();
        var result = new List<MigrationMeasurement>();
        foreach (var entry in timeline)
        {
            if (entry.Event is not MigrationCompleted done)
            {
                continue;
            }

            var at = entry.WireTime;
            var (start, startedAt) = starts.LastOrDefault(s => s.m.Migration == done.Migration);
            QemuMigrationReport? report;
            lock (reports)
            {
                report = reports.LastOrDefault(r => r.Migration == done.Migration && r.Succeeded);
            }

            result.Add(new MigrationMeasurement(
                start?.From.Value ?? "?",
                start?.To.Value ?? "?",
                (startedAt - epoch).TotalSeconds,
                (at - epoch).TotalSeconds,
                (report?.WallTime ?? done.Stats.TotalTime).TotalMilliseconds,
                (report?.Downtime ?? done.Stats.Downtime).TotalMilliseconds,
                report is null ? done.Stats.Downtime.TotalMilliseconds : report.Pause?.TotalMilliseconds,
                report is null ? done.Stats.BytesSent : report.RamBytes + report.DiskBytes,
                entry.Commands.OfType<InstallSteering>().Any() ? FlowsConfirmedMs(entry, steering) : null,
                report?.PausedAt is { } pausedAt ? (pausedAt.UtcDateTime - epoch).TotalSeconds : null));
        }

        return result;
    }

    private static void WriteRttCsv(IReadOnlyList<PingSample> samples, string path)
    {
        var sb = new StringBuilder("sent_s,ue,target,seq,serving_enb,rtt_ms\n");
        foreach (var s in samples)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{s.SentAtSeconds:0.000000},{s.Ue},{s.Target},{s.Sequence},{s.ServingEnb},{(s.RttMs is { } r ? r.ToString("0.000", CultureInfo.InvariantCulture) : "lost")}");
        }

        File.WriteAllText(path, sb.ToString());
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

    /// <summary>Prints the commands of each decision once they went to the backends.</summary>
    private static void LogCommands(McTimelineEntry entry, TextWriter log)
    {
        foreach (var command in entry.Commands.Where(c => c is not Notify and not ScheduleTimer))
        {
            lock (log)
            {
                log.WriteLine($"  MC -> {Describe(command)}");
            }
        }
    }

    private static string Describe(UeEvent e) => e switch
    {
        UeAttached a => $"UeAttached {a.Ue} imsi={a.Imsi} ip={a.UeAddress} at {a.Enb} bearers={string.Join(",", a.Bearers.Select(b => $"{b.ERabId}:ul {b.Uplink} dl {b.Downlink}"))}",
        PathSwitched p => $"PathSwitched {p.Ue} to {p.Target} dl={string.Join(",", p.Downlinks.Select(d => d.Downlink))}",
        HandoverPrepared h => $"HandoverPrepared {h.Ue} {h.Source}->{h.Target} {HandoverNames.Name(h.Kind, h.Source)}",
        HandoverCompleted h => $"HandoverCompleted {h.Ue} to {h.Target} dl={string.Join(",", h.Downlinks.Select(d => d.Downlink))}",
        _ => $"{e.GetType().Name} {e.Ue}",
    };
}
