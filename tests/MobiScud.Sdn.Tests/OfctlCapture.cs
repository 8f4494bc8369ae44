using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using MobiScud.Protocols.OpenFlow;
using MobiScud.TestSupport;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Plays a minimal OpenFlow 1.3 switch on loopback so `ovs-ofctl -O OpenFlow13 ... tcp:127.0.0.1:PORT` talks to it:
/// records every frame ovs-ofctl sends (bytes OVS's own library produced) and answers requests with replies we
/// encode (which ovs-ofctl then decodes and prints: a check of our encoder).
/// </summary>
internal static class OfctlCapture
{
    public sealed record Capture(IReadOnlyList<byte[]> Frames, string StdOut, string StdErr, int ExitCode);

    public static async Task<Capture> RunAsync(Func<OfpMessage, OfpMessage?>? answer, params string[] args)
    {
        var ofctl = ExternalTool.Require("ovs-ofctl", "openvswitch-switch");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var frames = new List<byte[]>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var serve = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync(cts.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(OfpCodec.Encode(new Hello(1, 1u << 4)), cts.Token);
            var header = new byte[8];
            try
            {
                while (true)
                {
                    await stream.ReadExactlyAsync(header, cts.Token);
                    var (_, _, length, _) = OfpCodec.ReadHeader(header);
                    var frame = new byte[length];
                    header.CopyTo(frame, 0);
                    await stream.ReadExactlyAsync(frame.AsMemory(8), cts.Token);
                    lock (frames)
                    {
                        frames.Add(frame);
                    }

                    var message = OfpCodec.Decode(frame);
                    var reply = message switch
                    {
                        Hello => null,
                        FeaturesRequest f => new FeaturesReply(f.Xid, 0xa1, 0, 254, 0, 0x4f),
                        BarrierRequest b => new BarrierReply(b.Xid),
                        EchoRequest e => new EchoReply(e.Xid, e.Data),
                        GetConfigRequest g => new GetConfigReply(g.Xid, 0, 0xffff),
                        _ => answer?.Invoke(message) ?? message switch
                        {
                            // ovs-ofctl asks for port and table names before most commands: none here.
                            PortDescRequest pd => new PortDescReply(pd.Xid, 0, []),
                            OtherMultipartRequest { Kind: MultipartType.TableFeatures } o => new OtherMultipartReply(o.Xid, 0, o.Kind, TableFeatures()),
                            _ => null,
                        },
                    };
                    if (reply is not null)
                    {
                        await stream.WriteAsync(OfpCodec.Encode(reply), cts.Token);
                    }
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException)
            {
                // ovs-ofctl hung up: done.
            }
        });

        var result = await ExternalTool.RunAsync(ofctl, ["-O", "OpenFlow13", "-t", "10", "--no-names", .. args.Select(a => a.Replace("{target}", $"tcp:127.0.0.1:{port}", StringComparison.Ordinal))], TimeSpan.FromSeconds(30));
        await serve.WaitAsync(TimeSpan.FromSeconds(30));
        lock (frames)
        {
            return new Capture(frames.ToList(), result.StdOut, result.StdErr, result.ExitCode);
        }
    }

    /// <summary>One ofp_table_features (64 bytes, no properties) for table 0, enough for ovs-ofctl's table-name lookup.</summary>
    private static byte[] TableFeatures()
    {
        var b = new byte[64];
        b[1] = 64;
        "t0"u8.CopyTo(b.AsSpan(8));
        b.AsSpan(40, 16).Fill(0xff);
        b[63] = 0xff;
        return b;
    }

    public static T Single<T>(Capture c)
        where T : OfpMessage
    {
        var found = c.Frames.Select(f => OfpCodec.Decode(f)).OfType<T>().ToList();
        Assert.True(found.Count == 1,
            $"expected one {typeof(T).Name} from ovs-ofctl, got {found.Count}; it sent {string.Join(", ", c.Frames.Select(f => (OfpType)f[1]))}; exit {c.ExitCode} {c.StdErr}");
        return found[0];
    }

    public static byte[] SingleFrame(Capture c, OfpType type) => c.Frames.Single(f => f[1] == (byte)type);

    public static PhysicalAddress Mac(string s) => PhysicalAddress.Parse(s.Replace(':', '-'));
}
