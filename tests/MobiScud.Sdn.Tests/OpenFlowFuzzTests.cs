using System.Buffers.Binary;
using System.Net;
using MobiScud.Protocols.OpenFlow;
using Xunit.Abstractions;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Mutation fuzzing of the decoder, seeded with messages ovs-ofctl produced plus one of every message type we model.
/// Any exception other than <see cref="OfpDecodeException"/> is a bug. MOBISCUD_FUZZ_ITERATIONS raises the count.
/// </summary>
public sealed class OpenFlowFuzzTests(ITestOutputHelper output)
{
    private static async Task<List<byte[]>> CorpusAsync()
    {
        var corpus = new List<byte[]>();
        foreach (var flow in new[]
        {
            "table=1,priority=300,cookie=0xa5,ip,tun_id=0x1001,tun_src=10.77.0.1,nw_src=172.16.0.5,nw_dst=192.168.77.10,actions=set_field:02:00:00:00:00:fe->eth_src,output:3",
            "table=2,priority=300,in_port=3,ip,nw_dst=172.16.0.5,actions=set_field:10.77.0.1->tun_dst,set_field:0x2002->tun_id,output:10",
            "priority=5,udp,tp_dst=2152,actions=push_vlan:0x8100,set_field:4196->vlan_vid,group:7,clear_actions,write_actions(output:2),write_metadata:0x5/0xff,goto_table:2",
        })
        {
            corpus.AddRange((await OfctlCapture.RunAsync(null, "add-flow", "{target}", flow)).Frames);
        }

        corpus.AddRange((await OfctlCapture.RunAsync(null, "packet-out", "{target}", "in_port=1,packet=02000000000202000000000108004500,actions=output:2")).Frames);
        corpus.AddRange((await OfctlCapture.RunAsync(m => m is FlowStatsRequest r ? new FlowStatsReply(r.Xid, 0, []) : null, "dump-flows", "{target}", "tun_id=0x1001")).Frames);

        var match = new OfpMatch([OxmField.InPort(10), OxmField.TunnelId(0x1001), OxmField.TunIpv4Src(IPAddress.Parse("10.77.0.1")), OxmField.Metadata(1, 0xff)]);
        var port = new PortDesc(1, OfctlCapture.Mac("02:00:00:00:00:01"), "venb1", 0, 4, 0, 0, 0, 0, 10_000_000, 0);
        var instructions = new OfpInstruction[] { new ApplyActionsInstruction([new SetFieldAction(OxmField.TunIpv4Dst(IPAddress.Parse("10.77.0.2"))), new OutputAction(OfpPort.InPort)]), new GotoTableInstruction(2) };
        foreach (var m in new OfpMessage[]
        {
            new Hello(1, 0x10), new ErrorMessage(2, 5, 1, [1, 2, 3]), new EchoRequest(3, [9]), new EchoReply(4, []),
            new FeaturesReply(5, 0xa1, 0, 254, 0, 0x4f), new SetConfig(6, 0, 0xffff), new GetConfigReply(7, 0, 128),
            new PacketIn(8, 0xffffffff, 60, 1, 1, 0xa5, match, new byte[60]), new FlowRemoved(9, 0xa5, 300, 0, 1, 5, 0, 0, 0, 1, 2, match),
            new PortStatus(10, 2, port), new PortDescReply(11, 0, [port]), new PortStatsReply(12, 0, [new PortStats(1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)]),
            new FlowStatsReply(13, 0, [new FlowStats(1, 1, 0, 300, 0, 0, FlowModFlags.None, 0xa5, 1, 2, match, instructions)]),
            new FlowStatsRequest(14, 0xff, OfpPort.Any, 0xffffffff, 0, 0, match), new PortStatsRequest(15, OfpPort.Any), new PortDescRequest(16),
            new BarrierRequest(17), new BarrierReply(18),
        })
        {
            corpus.Add(OfpCodec.Encode(m));
        }

        return corpus;
    }

    [Fact]
    public async Task Decoder_survives_mutated_real_messages_with_only_typed_errors()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_ITERATIONS"), out var n) ? n : 100_000;
        var corpus = await CorpusAsync();
        Assert.True(corpus.Count >= 20, $"corpus has only {corpus.Count} messages");
        foreach (var seed in corpus)
        {
            OfpCodec.Encode(OfpCodec.Decode(seed)); // every seed is valid to begin with
        }

        var rng = new Random(20261126);
        int decoded = 0, rejected = 0;
        for (var i = 0; i < iterations; i++)
        {
            var input = Mutate(corpus[rng.Next(corpus.Count)], rng);
            try
            {
                var message = OfpCodec.Decode(input);
                OfpCodec.Encode(message); // what we accept we can also write back
                decoded++;
            }
            catch (OfpDecodeException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"iteration {i}: {e.GetType().Name} on input {Convert.ToHexString(input)}: {e}");
            }
        }

        output.WriteLine($"{iterations} mutated inputs from {corpus.Count} seeds: {decoded} decoded, {rejected} typed errors, 0 crashes");
        Assert.Equal(iterations, decoded + rejected);
        Assert.True(rejected > iterations / 10, "mutations were too mild to exercise error paths");
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = seed.ToList();
        var rounds = rng.Next(1, 4);
        for (var r = 0; r < rounds; r++)
        {
            switch (rng.Next(6))
            {
                case 0 when b.Count > 0:
                    b[rng.Next(b.Count)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when b.Count > 0:
                    b[rng.Next(b.Count)] = (byte)rng.Next(256);
                    break;
                case 2 when b.Count > 1:
                    b.RemoveRange(rng.Next(b.Count), 1);
                    break;
                case 3:
                    b.Insert(rng.Next(b.Count + 1), (byte)rng.Next(256));
                    break;
                case 4 when b.Count > 2:
                    {
                        // A length-looking field gets a random value.
                        var at = rng.Next(b.Count - 1);
                        var v = (ushort)rng.Next(65536);
                        b[at] = (byte)(v >> 8);
                        b[at + 1] = (byte)v;
                        break;
                    }

                case 5 when b.Count > 8:
                    {
                        var keep = rng.Next(8, b.Count);
                        b.RemoveRange(keep, b.Count - keep);
                        break;
                    }
            }
        }

        var bytes = b.ToArray();

        // Half the time keep the header length consistent so the body parsers, not just the frame check, are exercised.
        if (bytes.Length >= 8 && rng.Next(2) == 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)Math.Min(bytes.Length, 0xffff));
        }

        return bytes;
    }
}
