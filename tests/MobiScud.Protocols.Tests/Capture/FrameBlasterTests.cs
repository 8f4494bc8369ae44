using System.Diagnostics;
using System.Globalization;
using MobiScud.Bench.Support;
using MobiScud.Capture;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>
/// The rate benchmark's traffic source (`mobiscud bench-send`): what it puts on a veth is checked with tools we did not
/// write: tcpdump records the other end, tshark reads the frames and their SCTP TSNs.
/// </summary>
public sealed class FrameBlasterTests
{
    private const string Capture = "magma_gx_gy_combined_04_32ue.pcapng";

    [Fact]
    public async Task Two_loops_arrive_whole_and_in_order_with_every_tsn_of_the_second_moved_on_by_one_shift()
    {
        var ip = ExternalTool.Require("ip", "iproute2");
        var tcpdump = ExternalTool.Require("tcpdump", "tcpdump");
        var tshark = ExternalTool.Require("tshark", "tshark");
        var file = TestData.Capture(Capture);
        var name = $"msfb{Environment.ProcessId % 100000}";
        var (sender, receiver) = (name + "a", name + "b");
        var received = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():n}.pcap");
        await Run(ip, ["link", "del", sender], mayFail: true);
        await Run(ip, ["link", "add", sender, "type", "veth", "peer", "name", receiver]);
        try
        {
            foreach (var end in new[] { sender, receiver })
            {
                // No IPv6 link-local chatter of the kernel's own among the frames counted; room for the capture's largest frames.
                await Run("sysctl", ["-q", "-w", $"net.ipv6.conf.{end}.disable_ipv6=1"], mayFail: true);
                await Run(ip, ["link", "set", end, "mtu", "9000", "up"]);
            }

            using var blaster = new FrameBlaster(sender, [file]);
            Assert.Equal(0, blaster.NotIp + blaster.OverMtu);
            Assert.True(blaster.TsnFields > 100, $"only {blaster.TsnFields} TSNs found in {Capture}");

            var psi = new ProcessStartInfo(tcpdump) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-i", receiver, "-s", "0", "-B", "65536", "-U", "-w", received, "-c", (2 * blaster.Frames).ToString(CultureInfo.InvariantCulture) })
            {
                psi.ArgumentList.Add(a);
            }

            using var dump = Process.Start(psi)!;
            var dumpErrors = dump.StandardError.ReadToEndAsync();
            await Task.Delay(1500);

            // 2,000 frames/s: well within what tcpdump keeps up with on a loaded machine.
            var result = blaster.Run(2000, TimeSpan.FromSeconds(60), 2L * blaster.Frames);
            Assert.Equal(2L * blaster.Frames, result.Sent);
            Assert.Equal(0, result.SendErrors);
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                await dump.WaitForExitAsync(cts.Token);
            }

            Assert.True(dump.ExitCode == 0, $"tcpdump: {await dumpErrors}");

            // tshark: the frames as sent, each with its TSNs (DATA and SACK), in order.
            var original = await Tsns(tshark, file);
            var got = await Tsns(tshark, received);
            Assert.Equal(2 * original.Count, got.Count);
            Assert.Equal(original, got.Take(original.Count).ToList());

            uint? shift = null;
            var moved = 0;
            for (var i = 0; i < original.Count; i++)
            {
                var (a, b) = (original[i].Split(','), got[original.Count + i].Split(','));
                Assert.Equal(a.Length, b.Length);
                for (var k = 0; k < a.Length; k++)
                {
                    if (a[k].Length == 0)
                    {
                        continue;
                    }

                    var d = unchecked(uint.Parse(b[k], CultureInfo.InvariantCulture) - uint.Parse(a[k], CultureInfo.InvariantCulture));
                    shift ??= d;
                    Assert.True(d == shift, $"frame {i + 1}: TSN {a[k]} became {b[k]}, not moved by {shift}");
                    moved++;
                }
            }

            Assert.True(shift is > 0 and < 0x80000000u, $"shift {shift}: the second loop must read as newer (serial arithmetic)");
            Assert.True(moved > 100, $"only {moved} TSNs compared");
        }
        finally
        {
            await Run(ip, ["link", "del", sender], mayFail: true);
            File.Delete(received);
        }
    }

    [Fact]
    public async Task The_ring_mode_captures_the_same_frames_with_the_same_kernel_times_as_libpcap()
    {
        var ip = ExternalTool.Require("ip", "iproute2");
        var file = TestData.Capture(Capture);
        var name = $"msrg{Environment.ProcessId % 100000}";
        var (sender, receiver) = (name + "a", name + "b");
        await Run(ip, ["link", "del", sender], mayFail: true);
        await Run(ip, ["link", "add", sender, "type", "veth", "peer", "name", receiver]);
        try
        {
            foreach (var end in new[] { sender, receiver })
            {
                await Run("sysctl", ["-q", "-w", $"net.ipv6.conf.{end}.disable_ipv6=1"], mayFail: true);
                await Run(ip, ["link", "set", end, "mtu", "9000", "up"]);
            }

            using var blaster = new FrameBlaster(sender, [file]);
            using var ring = new LiveCaptureSource(receiver, new LiveCaptureOptions { Mode = LiveCaptureMode.Ring });
            using var pcap = new LiveCaptureSource(receiver, new LiveCaptureOptions { Mode = LiveCaptureMode.Block });
            var fromRing = new List<(long, byte[], int)>();
            var fromPcap = new List<(long, byte[], int)>();
            var readers = new[] { (ring, fromRing), (pcap, fromPcap) }.Select(r => new Thread(() =>
            {
                while (r.Item1.TryReadNext(out var f))
                {
                    r.Item2.Add((f.TimestampNanos, f.Data.ToArray(), f.OriginalLength));
                }
            })).ToList();
            readers.ForEach(t => t.Start());
            var sent = blaster.Run(5000, TimeSpan.FromSeconds(60), 2L * blaster.Frames);
            Assert.Equal(2L * blaster.Frames, sent.Sent);
            await Task.Delay(2000);
            ring.Stop();
            pcap.Stop();
            readers.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(10)), "a reader did not stop"));

            // The default filter passes the capture's signalling: thousands of frames, the same in both, in order.
            Assert.True(fromPcap.Count > 1000, $"libpcap saw only {fromPcap.Count} frames");
            Assert.Equal(fromPcap.Count, fromRing.Count);
            for (var i = 0; i < fromPcap.Count; i++)
            {
                Assert.Equal(fromPcap[i].Item1, fromRing[i].Item1);
                Assert.Equal(fromPcap[i].Item3, fromRing[i].Item3);
                Assert.True(fromPcap[i].Item2.AsSpan().SequenceEqual(fromRing[i].Item2), $"frame {i + 1} differs");
            }

            var stats = ring.Statistics();
            Assert.Equal(fromRing.Count, stats.Received);
            Assert.Equal(0, stats.KernelDropped);
        }
        finally
        {
            await Run(ip, ["link", "del", sender], mayFail: true);
        }
    }

    [Fact]
    public void An_interface_that_does_not_exist_is_named()
    {
        var e = Assert.Throws<IOException>(() => new FrameBlaster("nosuchif0", [TestData.Capture(Capture)]));
        Assert.Contains("nosuchif0", e.Message, StringComparison.Ordinal);
    }

    private static async Task<List<string>> Tsns(string tshark, string file)
    {
        var r = await ExternalTool.RunAsync(tshark, ["-r", file, "-n", "-T", "fields", "-E", "occurrence=a", "-e", "sctp.data_tsn", "-e", "sctp.sack_cumulative_tsn_ack"], TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, r.StdErr);
        return r.StdOut.Split('\n').SkipLast(1).Select(l => l.Replace('\t', ',')).ToList();
    }

    private static async Task Run(string tool, string[] args, bool mayFail = false)
    {
        var result = await ExternalTool.RunAsync(tool, args, TimeSpan.FromSeconds(60));
        Assert.True(mayFail || result.ExitCode == 0, $"{Path.GetFileName(tool)} {string.Join(' ', args)}: exit {result.ExitCode}: {result.StdErr}");
    }
}
