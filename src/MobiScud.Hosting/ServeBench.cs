using System.Diagnostics;
using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting;

/// <summary>
/// `mobiscud serve --bench`: control events per second through the service (pipeline, UE grains, in-memory
/// grain storage, simulated hypervisor feeding outcomes back) for a synthetic S1AP-derived stream of UEs
/// handing over (X2: HandoverPrepared then PathSwitched, between two sites). The same tap events through the
/// single-threaded core (no hosting) are the peer that bounds it.
/// </summary>
public static class ServeBench
{
    /// <param name="storage">null: in-process storage; else a `Storage:Kind` (redis, postgres) with its connection.</param>
    public static async Task<int> RunAsync(int ues, int handovers, int silos, TextWriter output, CancellationToken ct, string? storage = null, string? connection = null)
    {
        const int sites = 4;
        var settings = new Dictionary<string, string?>
        {
            ["MobiScud:Api:Token"] = "bench-token-not-secret",
            ["MobiScud:Api:Port"] = "0",
            ["MobiScud:Hypervisor:TimeScale"] = "1000",
            ["MobiScud:Pipeline:Partitions"] = "32",
            ["MobiScud:Pipeline:MaxBatch"] = "4096",
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
            // Warm-up: every attach and one round of handovers, so that the JIT has settled before the measured rounds.
            var stream = Synthetic(ues, handovers + 1, sites);
            var warm = ues * 3;
            await Drive(stream.Take(warm), ues, pipeline, metrics, hypervisor, ct);
            var running = (await hypervisor.InventoryAsync(ct)).Count(p => p.Running);
            output.WriteLine($"  warm-up: {ues} attaches and {ues} handovers, {running} PVMs running, {metrics.Sum(m => m.EventCount)} events applied");
            foreach (var m in metrics)
            {
                m.Latency.Reset();
            }

            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var (events, elapsed) = await Drive(stream.Skip(warm), ues * (handovers + 1), pipeline, metrics, hypervisor, ct);
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var latency = new LatencyHistogram();
            var p50 = Quantile(metrics, 0.50);
            var p99 = Quantile(metrics, 0.99);
            var peer = Peer(stream, sites);
            output.WriteLine($"serve bench: {ues} UEs x {handovers} X2 handovers, {silos} silo(s), {storage ?? "in-memory"} grain storage, simulated hypervisor (64 MiB guests, x100000 time)");
            output.WriteLine($"  tap events {stream.Count - warm:N0} + adapter outcomes = {events:N0} events applied in {elapsed.TotalSeconds:F2} s: {events / elapsed.TotalSeconds:N0} events/s");
            // CPU time per event does not depend on what else the machine runs (this one is shared): compare it first.
            output.WriteLine($"  process CPU {cpu.TotalSeconds:F2} s over {Environment.ProcessorCount} cores: {cpu.TotalMicroseconds / Math.Max(1, events):F1} us of CPU per event");
            output.WriteLine($"  reaction latency (pipeline in -> commands executed): p50 <= {p50.TotalMilliseconds:F2} ms, p99 <= {p99.TotalMilliseconds:F2} ms");
            output.WriteLine($"  migrations completed {hypervisor.MigrationsCompleted:N0}, failed/cancelled {hypervisor.MigrationsFailed:N0}");
            output.WriteLine($"  peer: the same tap events through the single-threaded core, no hosting: {peer:N0} events/s");
            _ = latency;
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

    private static TimeSpan Quantile(List<HostingMetrics> metrics, double q)
    {
        // Each silo records the UEs it hosts; the bench's p99 is the worst silo's.
        return metrics.Select(m => m.Latency.Count > 0 ? m.Latency.Quantile(q) : TimeSpan.Zero).Max();
    }

    private static async Task<(long Events, TimeSpan Elapsed)> Drive(IEnumerable<UeEvent> events, int migrations, EventPipeline pipeline, List<HostingMetrics> metrics, SimulatedHypervisor hv, CancellationToken ct)
    {
        var before = metrics.Sum(m => m.EventCount);
        var clock = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch;
        foreach (var e in events)
        {
            await pipeline.PostAsync(e with { At = now + e.At }, ct);
        }

        // Done when the tap is applied and the adapters' outcomes have stopped coming.
        long last = -1;
        var quiet = Stopwatch.StartNew();
        var end = clock.Elapsed;
        // Every migration the handovers started must have ended (on a busy machine a 300 ms lull is not the end), and
        // then the MC's reaction to the last outcome applied.
        while (quiet.Elapsed < TimeSpan.FromMilliseconds(300) || (hv.MigrationsCompleted + hv.MigrationsFailed < migrations && clock.Elapsed < TimeSpan.FromMinutes(3)))
        {
            await pipeline.FlushAsync(ct);
            var count = metrics.Sum(m => m.EventCount);
            if (count != last)
            {
                last = count;
                end = clock.Elapsed;
                quiet.Restart();
            }

            await Task.Delay(20, ct);
        }

        return (last - before, end);
    }

    private static double Peer(List<UeEvent> stream, int sites)
    {
        var map = Enumerable.Range(0, sites).ToDictionary(s => new EnbId((uint)s + 1), s => new SiteId($"site-{s}"));
        var mc = new MobiScudController(new McConfig(map, new SiteId("core")));
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
