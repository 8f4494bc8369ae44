using System.Diagnostics;
using System.Net;
using MobiScud.Control;
using MobiScud.Hosting;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MobiScud.Bench.Support;

/// <summary>
/// `mobiscud serve --bench`: control events per second through the service (pipeline, UE grains, in-memory
/// grain storage, simulated hypervisor feeding outcomes back) for a synthetic S1AP-derived stream of UEs
/// handing over (X2: HandoverPrepared then PathSwitched, around four sites; every handover a live migration). The same
/// tap events through the single-threaded core (no hosting) are the peer that bounds it.
/// </summary>
public static class ServeBench
{
    /// <summary>Runs the bench. <paramref name="loadFraction"/> paces the latency phase at that share of the measured saturation rate.</summary>
    /// <param name="storage">null: in-process storage; else a `Storage:Kind` (redis, postgres) with its connection.</param>
    public static async Task<int> RunAsync(int ues, int handovers, int silos, TextWriter output, CancellationToken ct, double loadFraction = 0.5, string? storage = null, string? connection = null)
    {
        const int sites = 4;
        var settings = new Dictionary<string, string?>
        {
            ["MobiScud:Api:Token"] = "bench-token-not-secret",
            ["MobiScud:Api:Port"] = "0",
            ["MobiScud:Silo:ClusterId"] = "bench",
            ["MobiScud:Silo:ServiceId"] = "bench",
        };
        if (storage is not null)
        {
            // A durable backend: a service of its own, so that a run never starts from an earlier run's UEs.
            settings["MobiScud:Storage:Kind"] = storage;
            settings[$"MobiScud:Storage:{storage}"] = connection;
            settings["MobiScud:Silo:ClusterId"] = settings["MobiScud:Silo:ServiceId"] = $"bench-{Guid.NewGuid():N}";
        }
        for (var s = 0; s < sites; s++)
        {
            settings[$"MobiScud:Sites:{s}:Name"] = $"site-{s}";
            settings[$"MobiScud:Sites:{s}:Capacity"] = $"{ues}";
            settings[$"MobiScud:Sites:{s}:Enbs:0"] = $"{s + 1}";
        }

        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 100_000, MemoryMiB = 64, DirtyMiBps = 1 });
        var hosts = new List<WebApplication>();
        var store = new InProcessStateStore();
        try
        {
            for (var i = 0; i < silos; i++)
            {
                var mine = new Dictionary<string, string?>(settings)
                {
                    ["MobiScud:Silo:SiloPort"] = $"{22111 + i}",
                    ["MobiScud:Silo:GatewayPort"] = $"{32000 + i}",
                };
                var app = ServeHost.Build([], null, new ServeOverrides
                {
                    Hypervisor = hypervisor,
                    Settings = mine,
                    PrimarySilo = new IPEndPoint(IPAddress.Loopback, 22111),
                    Logging = l => l.SetMinimumLevel(LogLevel.Warning),
                    StateStore = store,
                });
                await app.StartAsync(ct);
                await app.Services.GetRequiredService<Reconciler>().Completed;
                hosts.Add(app);
            }

            var pipeline = hosts[0].Services.GetRequiredService<EventPipeline>();
            var metrics = hosts.Select(h => h.Services.GetRequiredService<HostingMetrics>()).ToList();
            var run = new Run(pipeline, metrics, hypervisor);

            // The stream: every UE attaches, then rounds of X2 handovers (each UE once per round, to the next of the four
            // sites). In the saturation phase a round settles before the next, so a UE's migration has ended before its
            // next handover, as it would for a real user.
            var latencyRounds = Math.Max(2, handovers / 2);
            var stream = Synthetic(ues, 1 + handovers + latencyRounds, sites);
            var round = 2 * ues;
            var warm = stream.Take(ues + round).ToList();
            var saturate = stream.Skip(warm.Count).Take(handovers * round).ToList();
            var paced = stream.Skip(warm.Count + saturate.Count).ToList();
            output.WriteLine($"serve bench: {ues:N0} UEs, {silos} silo(s) in this process on {Environment.ProcessorCount} cores, {storage ?? "in-memory"} grain storage, simulated hypervisor (64 MiB guests, x100000 time)");

            // Warm-up: the attaches and one round, so that the JIT and the grain directory have settled.
            var w = await run.Drive(warm, rate: null, ct);
            output.WriteLine($"  warm-up: {ues:N0} attaches + 1 round of handovers, {w.Events:N0} events in {w.Elapsed.TotalSeconds:F2} s, {(await hypervisor.InventoryAsync(ct)).Count(p => p.Running):N0} PVMs running");

            var sat = await run.Drive(saturate, rate: null, ct, round);
            output.WriteLine($"  saturation: {handovers} rounds, each posted at once and settled before the next: {saturate.Count:N0} tap events + outcomes = {sat.Events:N0} events applied in {sat.Elapsed.TotalSeconds:F2} s (the rounds' time; {sat.Wall.TotalSeconds:F2} s with the waits between them)");
            output.WriteLine($"    throughput {sat.Rate:N0} events/s (each 1 s interval: min {sat.MinSecond:N0}, median {sat.MedianSecond:N0}, max {sat.MaxSecond:N0})");
            // CPU time per event does not depend on what else the machine runs (this one is shared): compare it first.
            output.WriteLine($"    process CPU {sat.Cpu.TotalSeconds:F2} s: {sat.Cpu.TotalMicroseconds / Math.Max(1, sat.Events):F1} us per event; {sat.Migrations:N0} migrations completed, {sat.Failed:N0} failed or cancelled");
            output.WriteLine($"    allocated {sat.Allocated / (double)Math.Max(1, sat.Events):N0} bytes per event; GC paused the process {sat.GcPause.TotalSeconds:F2} s in {sat.Collections} collections, {sat.Gen2} of them gen-2");
            output.WriteLine($"    reaction latency (a whole round queued at once): p50 {sat.P50.TotalMilliseconds:F1} ms, p99 {sat.P99.TotalMilliseconds:F1} ms");

            // Latency under a load the service can carry: the tap paced at a share of the saturation rate (tap events
            // are two thirds of the events applied; the outcomes are the rest).
            var tapRate = Math.Max(1000, sat.Rate * loadFraction * saturate.Count / Math.Max(1, sat.Events));
            var load = await run.Drive(paced, tapRate, ct);
            output.WriteLine($"  at {loadFraction:P0} load: {latencyRounds} rounds, tap paced at {tapRate:N0} events/s, {load.Events:N0} events in {load.Elapsed.TotalSeconds:F2} s ({load.Rate:N0} events/s)");
            output.WriteLine($"    reaction latency (pipeline in -> state persisted and commands executed): p50 {load.P50.TotalMilliseconds:F2} ms, p99 {load.P99.TotalMilliseconds:F2} ms, p99.9 {load.P999.TotalMilliseconds:F2} ms");
            output.WriteLine($"    GC paused the process {load.GcPause.TotalSeconds:F2} s in {load.Collections} collections, {load.Gen2} of them gen-2");

            // After the timed phases: what 10k UEs hold in memory (states, timelines, grain activations, stored snapshots).
            output.WriteLine($"  live managed heap after a full collection: {GC.GetTotalMemory(forceFullCollection: true) / 1048576.0:N0} MiB");
            var peer = Peer(stream, sites);
            output.WriteLine($"  peer: the same tap events through the single-threaded core, no hosting: {peer:N0} events/s");
            return 0;
        }
        finally
        {
            for (var i = hosts.Count - 1; i >= 0; i--)
            {
                await hosts[i].StopAsync(CancellationToken.None);
                await hosts[i].DisposeAsync();
            }
        }
    }

    private sealed record Phase(long Events, TimeSpan Elapsed, TimeSpan Cpu, double MinSecond, double MedianSecond, double MaxSecond, TimeSpan P50, TimeSpan P99, TimeSpan P999, int Migrations, int Failed, long Allocated, TimeSpan GcPause, int Gen2, int Collections, TimeSpan Wall)
    {
        public double Rate => Events / Math.Max(1e-9, Elapsed.TotalSeconds);
    }

    private sealed class Run(EventPipeline pipeline, List<HostingMetrics> metrics, SimulatedHypervisor hypervisor)
    {
        private long Applied => metrics.Sum(m => m.EventCount);

        /// <summary>
        /// Posts the events (as fast as backpressure allows, or paced at <paramref name="rate"/> per second) and waits
        /// until the MC has applied them and every outcome they caused. The phase ends at the last event applied.
        /// With a <paramref name="round"/> size, each round must settle before the next is posted: otherwise the tap
        /// runs several rounds ahead, a UE's next handovers overtake its migration's outcome in the queue, and the MC
        /// rightly skips the migrations in between (less work per event than 10k UEs handing over really cause).
        /// </summary>
        public async Task<Phase> Drive(List<UeEvent> events, double? rate, CancellationToken ct, int round = 0)
        {
            foreach (var m in metrics)
            {
                m.Latency.Reset();
            }

            var completed = hypervisor.MigrationsCompleted;
            var failed = hypervisor.MigrationsFailed;
            var before = Applied;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes();
            var paused = GC.GetTotalPauseDuration();
            var gen2 = GC.CollectionCount(2);
            var collections = GC.CollectionCount(0);
            var clock = Stopwatch.StartNew();
            var seconds = new List<double>();
            using var sampling = new CancellationTokenSource();
            var sampler = Sample(seconds, sampling.Token);
            var now = DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch;
            // With rounds, the phase's time is the sum of each round's, from its first event posted to its last event
            // applied: the bench's own waits between rounds (the service idle) are not the service's time.
            var busy = TimeSpan.Zero;
            var roundStart = TimeSpan.Zero;
            for (var i = 0; i < events.Count; i++)
            {
                if (rate is { } r && i % 64 == 0)
                {
                    // Open loop: event i is due at i / rate, whatever the MC is doing.
                    var due = TimeSpan.FromSeconds(i / r);
                    if (due > clock.Elapsed)
                    {
                        await Task.Delay(due - clock.Elapsed, ct);
                    }
                }

                await pipeline.PostAsync(events[i] with { At = now + events[i].At }, ct);
                if (round > 0 && (i + 1) % round == 0 && i + 1 < events.Count)
                {
                    busy += await Settle(clock, ct) - roundStart;
                    roundStart = clock.Elapsed;
                }
            }

            var end = busy + (await Settle(clock, ct) - roundStart);
            var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            await sampling.CancelAsync();
            await sampler;
            seconds.Sort();
            return new Phase(
                Applied - before,
                end,
                used,
                seconds.Count > 0 ? seconds[0] : 0,
                seconds.Count > 0 ? seconds[seconds.Count / 2] : 0,
                seconds.Count > 0 ? seconds[^1] : 0,
                Quantile(0.50),
                Quantile(0.99),
                Quantile(0.999),
                hypervisor.MigrationsCompleted - completed,
                hypervisor.MigrationsFailed - failed,
                GC.GetTotalAllocatedBytes() - allocated,
                GC.GetTotalPauseDuration() - paused,
                GC.CollectionCount(2) - gen2,
                GC.CollectionCount(0) - collections,
                clock.Elapsed);
        }

        /// <summary>Events applied in each whole second of the phase.</summary>
        private async Task Sample(List<double> seconds, CancellationToken ct)
        {
            var last = Applied;
            try
            {
                while (true)
                {
                    await Task.Delay(1000, ct);
                    var now = Applied;
                    seconds.Add(now - last);
                    last = now;
                }
            }
            catch (OperationCanceledException)
            {
                // The phase is over; a partial second is not counted.
            }
        }

        /// <summary>
        /// Done when the pipeline is empty, the hypervisor has no timer pending and no outcome on its way, and the count
        /// has not moved since: then nothing more can come. Returns when the last event was applied.
        /// </summary>
        private async Task<TimeSpan> Settle(Stopwatch clock, CancellationToken ct)
        {
            long last = -1;
            var end = clock.Elapsed;
            while (true)
            {
                var count = Applied;
                if (count != last)
                {
                    last = count;
                    end = clock.Elapsed;
                }
                else if (hypervisor.Idle && pipeline.Pending == 0)
                {
                    return end;
                }

                if (clock.Elapsed - end > TimeSpan.FromMinutes(2))
                {
                    throw new TimeoutException($"the service did not settle: {pipeline.Pending} events pending, hypervisor idle {hypervisor.Idle}");
                }

                await Task.Delay(1, ct);
            }
        }

        /// <summary>Each silo records the UEs it hosts; the bench reports the worst silo's quantile.</summary>
        private TimeSpan Quantile(double q) => metrics.Select(m => m.Latency.Count > 0 ? m.Latency.Quantile(q) : TimeSpan.Zero).Max();
    }

    private static double Peer(List<UeEvent> stream, int sites)
    {
        var map = Enumerable.Range(0, sites).ToDictionary(s => new EnbId((uint)s + 1), s => new SiteId($"site-{s}"));
        var mc = new SingleThreadedMc(new McConfig(map, new SiteId("core")));
        var clock = Stopwatch.StartNew();
        long n = 0;
        foreach (var e in stream)
        {
            mc.Handle(e);
            n++;
        }

        return n / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Attach every UE, then rounds of X2 handovers between the UE's two sites (what the tracker derives from S1AP).</summary>
    public static List<UeEvent> Synthetic(int ues, int handovers, int sites)
    {
        var list = new List<UeEvent>(ues * (1 + 2 * handovers));
        var t = TimeSpan.Zero;
        for (var i = 0; i < ues; i++)
        {
            var ue = new UeId($"imsi-00101{i:D10}");
            var enb = new EnbId((uint)(i % sites) + 1);
            var bearer = new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.77.0.2"), (uint)(0x1000 + i)), new GtpEndpoint(EnbAddress(enb), (uint)(0x2000 + i)));
            list.Add(new UeAttached(t, ue, $"00101{i:D10}", new IPAddress([10, 45, (byte)(i >> 8), (byte)i]), enb, null, [bearer]));
        }

        for (var h = 0; h < handovers; h++)
        {
            for (var i = 0; i < ues; i++)
            {
                t += TimeSpan.FromMicroseconds(10);
                var ue = new UeId($"imsi-00101{i:D10}");
                var from = new EnbId((uint)((i + h) % sites) + 1);
                var to = new EnbId((uint)((i + h + 1) % sites) + 1);
                list.Add(new HandoverPrepared(t, ue, from, to, HandoverKind.X2));
                list.Add(new PathSwitched(t, ue, to, [new BearerDownlink(5, new GtpEndpoint(EnbAddress(to), (uint)(0x3000 + i + h)))]));
            }
        }

        return list;
    }

    private static IPAddress EnbAddress(EnbId enb) => new([10, 77, 1, (byte)enb.Value]);
}
