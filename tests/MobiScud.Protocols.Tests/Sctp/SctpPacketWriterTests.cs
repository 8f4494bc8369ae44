using System.Buffers.Binary;
using System.Net;
using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Sctp;

/// <summary>
/// The packets the emulators build with <see cref="SctpPacketWriter"/>: a whole association (handshake, DATA both
/// ways, SACKs) decoded by tshark with CRC32c checking on, and by our own reader.
/// </summary>
public sealed class SctpPacketWriterTests
{
    private static readonly byte[] _cookie = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    private static List<byte[]> Association()
    {
        // Odd payload lengths so that every DATA chunk needs padding.
        byte[] up = [0x00, 0x0c, 0x40, 0x01, 0x02];
        var down = Enumerable.Range(0, 301).Select(i => (byte)i).ToArray();
        return
        [
            SctpPacketWriter.Packet(40000, SctpWellKnown.S1apPort, 0, SctpPacketWriter.Init(0x1111, 65535, 2, 2, 100)),
            SctpPacketWriter.Packet(SctpWellKnown.S1apPort, 40000, 0x1111, SctpPacketWriter.InitAck(0x2222, 65535, 2, 2, 500, _cookie)),
            SctpPacketWriter.Packet(40000, SctpWellKnown.S1apPort, 0x2222, SctpPacketWriter.CookieEcho(_cookie)),
            SctpPacketWriter.Packet(SctpWellKnown.S1apPort, 40000, 0x1111, SctpPacketWriter.CookieAck()),
            SctpPacketWriter.Packet(40000, SctpWellKnown.S1apPort, 0x2222, SctpPacketWriter.Data(100, 0, 0, SctpWellKnown.S1apPpid, up)),
            SctpPacketWriter.Packet(SctpWellKnown.S1apPort, 40000, 0x1111, SctpPacketWriter.Sack(100, 65535), SctpPacketWriter.Data(500, 1, 0, SctpWellKnown.NgapPpid, down)),
            SctpPacketWriter.Packet(40000, SctpWellKnown.S1apPort, 0x2222, SctpPacketWriter.Sack(500, 65535)),
        ];
    }

    [Fact]
    public async Task Tshark_decodes_a_built_association_with_valid_checksums_and_no_malformed_packet()
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        var packets = Association();
        var dir = Directory.CreateTempSubdirectory("mobiscud-sctp-writer-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "sctp.pcap");
            using (var writer = new PcapWriter(File.Create(pcap), LinkType.Raw))
            {
                var a = IPAddress.Parse("10.0.0.1");
                var b = IPAddress.Parse("10.0.0.2");
                for (var i = 0; i < packets.Count; i++)
                {
                    var fromA = BinaryPrimitives.ReadUInt16BigEndian(packets[i]) == 40000;
                    writer.Write(1_700_000_000_000_000_000L + (i * 1_000_000L), PacketBuilder.Ipv4(fromA ? a : b, fromA ? b : a, 132, packets[i], (ushort)i));
                }
            }

            // Payloads are not S1AP: decode DATA as raw data so that only SCTP itself is judged.
            string[] common = ["-r", pcap, "-n", "-o", "sctp.checksum:CRC-32C", "-d", "sctp.ppi==18,data", "-d", "sctp.ppi==60,data"];
            var bad = await ExternalTool.RunAsync(tshark, [.. common, "-Y", "_ws.malformed || _ws.expert.severity >= warning || sctp.checksum.status != 1", "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"], TimeSpan.FromMinutes(1));
            Assert.True(bad.ExitCode == 0, bad.StdErr);
            Assert.Equal(string.Empty, bad.StdOut.Trim());

            var rows = await ExternalTool.RunAsync(tshark, [.. common, "-T", "fields", "-E", "separator=;", "-e", "sctp.chunk_type", "-e", "sctp.verification_tag", "-e", "sctp.checksum.status", "-e", "sctp.data_tsn_raw", "-e", "sctp.data_payload_proto_id", "-e", "sctp.parameter_state_cookie", "-e", "sctp.sack_cumulative_tsn_ack_raw"], TimeSpan.FromMinutes(1));
            Assert.True(rows.ExitCode == 0, rows.StdErr);
            var lines = rows.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(';')).ToList();
            Assert.Equal(["1", "2", "10", "11", "0", "3,0", "3"], lines.Select(l => l[0]));
            Assert.Equal(["0x00000000", "0x00001111", "0x00002222", "0x00001111", "0x00002222", "0x00001111", "0x00002222"], lines.Select(l => l[1]));
            Assert.All(lines, l => Assert.Equal("1", l[2]));
            Assert.Equal("100", lines[4][3]);
            Assert.Equal("500", lines[5][3]);
            Assert.Equal("60", lines[5][4]);
            Assert.Equal(Convert.ToHexStringLower(_cookie), lines[1][5].Replace(":", string.Empty));
            Assert.Equal("100", lines[5][6]);
            Assert.Equal("500", lines[6][6]);
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("MOBISCUD_KEEP_TMP") is null)
            {
                dir.Delete(recursive: true);
            }
        }
    }

    [Fact]
    public void Our_reader_reads_back_every_chunk_the_writer_built()
    {
        var packets = Association();
        Assert.All(packets, p => Assert.True(SctpChecksum.IsValid(p)));

        var reader = new SctpChunkReader(packets[1]);
        Assert.True(reader.TryReadNext(out var initAck, out _));
        Assert.True(SctpInitChunk.TryParse(initAck, out var init, out _));
        Assert.Equal(new SctpInitChunk(0x2222, 65535, 2, 2, 500), init);
        Assert.True(SctpInitChunk.TryFindStateCookie(initAck, out var cookie, out _));
        Assert.Equal(_cookie, cookie.ToArray());

        reader = new SctpChunkReader(packets[5]);
        Assert.True(reader.TryReadNext(out var sackChunk, out _));
        Assert.True(SctpSackChunk.TryParse(sackChunk, out var sack, out _));
        Assert.Equal(100u, sack.CumulativeTsnAck);
        Assert.True(reader.TryReadNext(out var dataChunk, out _));
        Assert.True(SctpDataChunk.TryParse(dataChunk, out var data, out _));
        Assert.True(data.Beginning && data.Ending);
        Assert.Equal((500u, (ushort)1, SctpWellKnown.NgapPpid, 301), (data.Tsn, data.StreamId, data.PayloadProtocolId, data.UserData.Length));
        Assert.False(reader.TryReadNext(out _, out var end));
        Assert.Equal(TransportError.None, end);
    }

    [Fact]
    public void A_flipped_bit_anywhere_fails_the_checksum()
    {
        var packet = Association()[5];
        for (var i = 0; i < packet.Length; i++)
        {
            if (i is >= 8 and < 12)
            {
                continue;
            }

            var copy = (byte[])packet.Clone();
            copy[i] ^= 0x10;
            Assert.False(SctpChecksum.IsValid(copy), $"flip at byte {i} not detected");
        }
    }

    [Fact]
    public void An_init_ack_without_a_state_cookie_is_a_named_error()
    {
        // An INIT chunk's value relabelled as INIT ACK: the mandatory cookie is missing.
        var packet = SctpPacketWriter.Packet(1, 2, 3, SctpPacketWriter.Init(1, 2, 3, 4, 5) with { Type = SctpChunkType.InitAck });
        var reader = new SctpChunkReader(packet);
        Assert.True(reader.TryReadNext(out var chunk, out _));
        Assert.False(SctpInitChunk.TryFindStateCookie(chunk, out _, out var error));
        Assert.Equal(TransportError.BadSctpInitChunk, error);
        Assert.Throws<TransportDecodeException>(() => SctpChecksum.Compute(new byte[5]));
    }
}
