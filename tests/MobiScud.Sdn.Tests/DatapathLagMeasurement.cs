using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using Xunit.Abstractions;

namespace MobiScud.Sdn.Tests;

/// <summary>A measurement, not a test of the default suite: runs only when its environment variable is set.</summary>
public sealed class MeasurementFactAttribute : FactAttribute
{
    public MeasurementFactAttribute(string variable)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            Skip = $"measurement: set {variable} to run it";
        }
    }
}

/// <summary>
/// How long OVS's datapath keeps forwarding on the old rules after the barrier confirmed a handover. The PVM streams
/// UDP to the UE every ~1 ms; the UE is handed over between eNB1 and eNB2 again and again; raw sockets at both eNBs
/// see which path each packet took. Per change: packets sent after the barrier reply that still took the old path,
/// and the time from the barrier reply to the first packet sent on the new path. Then the same with a datapath sync
/// after the barrier (revalidator/wait once or twice, revalidator/purge, dpctl/del-flows). `MOBISCUD_SDN_LAG=N` changes per mode.
/// </summary>
[Collection(OvsCollection.Name)]
public sealed class DatapathLagMeasurement(OvsHarness ovs, ITestOutputHelper output)
{
    private static readonly IPAddress _ue = IPAddress.Parse("172.16.0.5");

    private sealed record Arrival(int Seq, int Enb, long Ticks);

    [MeasurementFact("MOBISCUD_SDN_LAG")]
    public async Task Barrier_to_datapath_lag_per_sync_mode()
    {
        var changes = int.Parse(Environment.GetEnvironmentVariable("MOBISCUD_SDN_LAG")!, System.Globalization.CultureInfo.InvariantCulture);
        await using var unixctl = new OvsUnixctl(OvsUnixctl.SocketIn(ovs.Dir));

        // A programmer of its own that confirms by barrier only: the modes below add their sync after it.
        var programmer = new OpenFlowSteeringProgrammer(ovs.Controller, ovs.Topology);
        var ticks = 0;

        // revalidator/wait returns when the round running at the time ends (maybe one that began before the change),
        // and an idle revalidator sleeps up to 500 ms: wait twice, each time followed by a table change of our own
        // (a flow in a table no packet reaches) so that a round starts at once.
        async Task WaitWithTriggerAsync()
        {
            for (var round = 0; round < 2; round++)
            {
                var wait = await unixctl.SendAsync("revalidator/wait");
                var flow = new FlowEntry(250, 0, new Protocols.OpenFlow.OfpMatch([Protocols.OpenFlow.OxmField.EthType(0x88b5)]),
                    ticks++ % 2 == 0 ? [] : [new Protocols.OpenFlow.ApplyActionsInstruction([new Protocols.OpenFlow.OutputAction(Protocols.OpenFlow.OfpPort.Local)])],
                    SteeringCookies.Owner | 0x2);
                Assert.True((await ovs.Controller.ReplaceFlowsAsync(OvsHarness.DpidA, flow.Cookie, [flow])).Confirmed);
                await wait;
            }
        }

        var modes = new (string Name, Func<Task> Sync)[]
        {
            ("barrier only", () => Task.CompletedTask),
            ("revalidator/wait x1", async () => await unixctl.CallAsync("revalidator/wait")),
            ("revalidator/wait x2", async () =>
            {
                await unixctl.CallAsync("revalidator/wait");
                await unixctl.CallAsync("revalidator/wait");
            }),
            ("revalidator/purge", async () => await unixctl.CallAsync("revalidator/purge")),
            ("dpctl/del-flows (Flush)", async () => await unixctl.CallAsync("dpctl/del-flows")),
            ("2x (wait + table change)", WaitWithTriggerAsync),
        };

        using var enb1 = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);
        using var enb2 = ovs.Socket("enb2", SocketType.Raw, ProtocolType.Udp);
        using var pvm = ovs.Socket("pvma", SocketType.Dgram, ProtocolType.Udp);
        var arrivals = new List<Arrival>();
        var sent = new List<long>();
        using var stop = new CancellationTokenSource();
        var receivers = new[] { (enb1, 1), (enb2, 2) }.Select(r => Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var n = await r.Item1.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                    var now = Stopwatch.GetTimestamp();
                    if (IpPacket.Parse(buffer.AsSpan(0, n)) is { Gtp: { } g } && g.Inner.Protocol == 17 && g.Inner.Payload.Length > 12)
                    {
                        var text = Encoding.ASCII.GetString(g.Inner.Payload, 8, g.Inner.Payload.Length - 8);
                        if (text.StartsWith("lag:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(4), out var seq))
                        {
                            lock (arrivals)
                            {
                                arrivals.Add(new Arrival(seq, r.Item2, now));
                            }
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToList();

        var sender = new Thread(() =>
        {
            var target = new IPEndPoint(_ue, 40000);
            for (var seq = 0; !stop.IsCancellationRequested; seq++)
            {
                lock (sent)
                {
                    sent.Add(Stopwatch.GetTimestamp());
                }

                pvm.SendTo(Encoding.ASCII.GetBytes($"lag:{seq}"), target);
                Thread.Sleep(1);
            }
        })
        { IsBackground = true };

        var intent = 0;
        SteeringIntent Next()
        {
            var toEnb2 = intent++ % 2 == 0;
            return new(new UeId("ue1"), _ue, new EnbId(1),
                [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, 0x1001), new GtpEndpoint(toEnb2 ? OvsHarness.Enb2 : OvsHarness.Enb1, toEnb2 ? 0x3003u : 0x2002u))],
                OvsHarness.SiteA, OvsHarness.SiteA, OvsHarness.Pvm, OvsHarness.NextVersion());
        }

        await programmer.ExecuteAsync(new InstallSteering(new UeId("ue1"), Next()));
        sender.Start();
        await WaitForAsync(() => arrivals.Count > 20, "the stream to reach an eNB");

        foreach (var (name, sync) in modes)
        {
            var rows = new List<(double LagMs, int Stale, double StaleWindowMs, double BarrierMs, double SyncMs)>();
            for (var c = 0; c < changes; c++)
            {
                var next = Next();
                var newEnb = next.Bearers[0].Downlink.Address.Equals(OvsHarness.Enb2) ? 2 : 1;
                var started = Stopwatch.GetTimestamp();
                var r = await programmer.ExecuteAsync(new InstallSteering(next.Ue, next));
                var barrier = Stopwatch.GetTimestamp();
                Assert.True(r.Confirmed);
                await sync();
                var synced = Stopwatch.GetTimestamp();

                // Let ~30 packets pass on the new path, then judge this change.
                int firstSeq;
                lock (sent)
                {
                    firstSeq = sent.Count;
                }

                await WaitForAsync(() => { lock (arrivals) { return arrivals.Count(a => a.Seq >= firstSeq && a.Enb == newEnb) >= 30; } }, $"change {c} ({name}) to reach eNB{newEnb}");
                long[] sendTimes;
                Arrival[] seen;
                lock (sent)
                {
                    sendTimes = sent.ToArray();
                }

                lock (arrivals)
                {
                    seen = arrivals.Where(a => a.Seq < sendTimes.Length && sendTimes[a.Seq] >= started).ToArray();
                }

                var firstNew = seen.Where(a => a.Enb == newEnb).MinBy(a => a.Seq)!;
                var stale = seen.Where(a => a.Enb != newEnb && sendTimes[a.Seq] >= synced).ToArray();
                rows.Add((
                    Ms(sendTimes[firstNew.Seq] - barrier),
                    stale.Length,
                    stale.Length == 0 ? 0 : Ms(stale.Max(a => sendTimes[a.Seq]) - synced),
                    Ms(barrier - started),
                    Ms(synced - barrier)));
            }

            var lags = rows.Select(x => x.LagMs).OrderBy(x => x).ToList();
            output.WriteLine(
                $"{name,-28} changes {changes}: barrier p50 {P(rows.Select(x => x.BarrierMs), 50):F2} ms p99 {P(rows.Select(x => x.BarrierMs), 99):F2}; " +
                $"sync p50 {P(rows.Select(x => x.SyncMs), 50):F2} p99 {P(rows.Select(x => x.SyncMs), 99):F2} ms; " +
                $"barrier->first packet sent on new path p50 {P(lags, 50):F2} p99 {P(lags, 99):F2} max {lags.Max():F2} ms; " +
                $"changes with packets sent after sync on the old path: {rows.Count(x => x.Stale > 0)} (total {rows.Sum(x => x.Stale)} packets, window max {rows.Max(x => x.StaleWindowMs):F2} ms)");
        }

        stop.Cancel();
        sender.Join();
        enb1.Dispose();
        enb2.Dispose();
        await Task.WhenAll(receivers);
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double P(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(2);
        }
    }
}
