using System.Globalization;
using MobiScud.Protocols.Nas;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.Tests.Ngap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Nas;

/// <summary>
/// Every 5G NAS-PDU carried by NGAP in the 5G captures, decoded by us and by tshark (with its null-deciphering option,
/// which is right for these captures: every Security Mode Command in them selects 5G-EA0, which the test checks).
/// </summary>
public class Nas5gOracleTests
{
    /// <summary>Per frame: every NAS-PDU of every NGAP message in it (top-level, then PDU session items).</summary>
    internal static List<(int Frame, List<byte[]> Nas)> NasPdus(string capture)
    {
        var result = new List<(int, List<byte[]>)>();
        foreach (var m in NgapOracleTests.Messages(capture))
        {
            var s = NgapDecoder.Decode(m.Bytes);
            var list = new List<byte[]>();
            if (s.HasNasPdu)
            {
                list.Add(s.NasPdu.ToArray());
            }

            list.AddRange(s.PduSessions.Where(p => p.HasNasPdu).Select(p => s.ItemNasPdu(p).ToArray()));
            if (list.Count == 0)
            {
                continue;
            }

            if (result.Count > 0 && result[^1].Item1 == m.Frame)
            {
                result[^1].Item2.AddRange(list);
            }
            else
            {
                result.Add((m.Frame, list));
            }
        }

        return result;
    }

    [Theory]
    [MemberData(nameof(NgapOracleTests.Captures), MemberType = typeof(NgapOracleTests))]
    public async Task Every_5g_nas_message_matches_tshark(string capture)
    {
        var path = TestData.Capture(capture);
        var tshark = ExternalTool.Require("tshark", "tshark");
        var run = await ExternalTool.RunAsync(
            tshark,
            ["-r", path, "-n", "-o", "nas-5gs.null_decipher:TRUE", "-Y", "nas-5gs && sctp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
                "-e", "frame.number", "-e", "nas_5gs.mm.message_type", "-e", "nas_5gs.sm.message_type", "-e", "nas_5gs.mm.suci.msin", "-e", "e212.mcc",
                "-e", "nas_5gs.5g_tmsi", "-e", "nas_5gs.sm.pdu_addr_inf_ipv4"],
            TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.StdErr);
        var theirs = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t'))
            .ToDictionary(f => int.Parse(f[0], CultureInfo.InvariantCulture));
        static string[] List(string[] row, int i) => i < row.Length && row[i].Length > 0 ? row[i].Split(',') : [];

        var ours = NasPdus(capture);
        Assert.Equal(theirs.Keys.Order(), ours.Select(o => o.Frame));
        var problems = new List<string>();
        var smcs = 0;
        var addresses = 0;
        foreach (var (frame, pdus) in ours)
        {
            var decoded = pdus.Select(p => Nas5gDecoder.Decode(p, nullCipheringInUse: true)).SelectMany(d => d.SelfAndInner()).ToList();
            var row = theirs[frame];
            void Same(string what, IEnumerable<string> a, IEnumerable<string> b)
            {
                if (!a.SequenceEqual(b))
                {
                    problems.Add($"{capture} frame {frame} {what}: ours [{string.Join(",", a)}] tshark [{string.Join(",", b)}]");
                }
            }

            Same("5GMM types", decoded.Where(d => d.Epd == 0x7E).Select(d => $"0x{d.MessageType:x2}"), List(row, 1));
            Same("5GSM types", decoded.Where(d => d.Epd == 0x2E).Select(d => $"0x{d.MessageType:x2}"), List(row, 2));
            var msins = List(row, 3);
            var mccs = List(row, 4);
            var imsis = decoded.Where(d => d.Imsi is not null).Select(d => d.Imsi!).ToList();
            Same("SUCI/IMSI", imsis.Select((imsi, i) => i < msins.Length && imsi.EndsWith(msins[i], StringComparison.Ordinal) && i < mccs.Length && imsi.StartsWith(mccs[i], StringComparison.Ordinal) ? msins[i] : imsi), msins);
            var tmsis = decoded.SelectMany(d => new[] { d.Guti?.Tmsi, d.STmsi?.Tmsi }).Where(t => t.HasValue).Select(t => t!.Value.ToString(CultureInfo.InvariantCulture));
            Same("5G-TMSIs", tmsis, List(row, 5));
            Same("PDU addresses", decoded.Where(d => d.PduAddress?.Ipv4 is not null).Select(d => d.PduAddress!.Ipv4!.ToString()), List(row, 6));
            addresses += List(row, 6).Length;
            foreach (var smc in decoded.Where(d => d.Epd == 0x7E && d.MessageType == Nas5gMessageType.SecurityModeCommand))
            {
                Assert.Equal((byte)0, smc.SelectedCipheringAlgorithm); // 5G-EA0: what makes null deciphering right here
                smcs++;
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} mismatches:\n" + string.Join("\n", problems.Take(30)));
        Assert.True(smcs > 0, "no Security Mode Command");
        Assert.True(addresses > 0, "no PDU address");
    }

    [Theory]
    [MemberData(nameof(NgapOracleTests.Captures), MemberType = typeof(NgapOracleTests))]
    public void Ciphered_messages_are_reported_not_guessed_without_the_null_algorithm(string capture)
    {
        var ciphered = 0;
        foreach (var pdu in NasPdus(capture).SelectMany(f => f.Nas))
        {
            var m = Nas5gDecoder.Decode(pdu);
            var sht = pdu[0] == 0x7E ? pdu[1] & 0x0F : 0;
            if (sht is 2 or 4)
            {
                ciphered++;
                Assert.True(m.Ciphered);
                Assert.Null(m.Imsi);
                Assert.Null(m.Guti);
                Assert.Null(m.Inner);
                Assert.Equal("Ciphered", m.MessageName);
            }
            else
            {
                Assert.False(m.Ciphered);
            }
        }

        Assert.True(ciphered > 0);
    }
}
