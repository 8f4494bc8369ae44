using System.Globalization;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Captures;

/// <summary>The built Home eNB capture in data/ is reproducible from its builder, and tshark reads it cleanly.</summary>
public sealed class HomeEnbCaptureTests
{
    [Fact]
    public void The_capture_in_data_is_what_the_builder_makes()
    {
        var path = Path.Combine(TestData.Captures, HomeEnbCapture.FileName);
        var built = HomeEnbCapture.Build();
        if (Environment.GetEnvironmentVariable("MOBISCUD_WRITE_CAPTURES") == "1")
        {
            File.WriteAllBytes(path, built);
        }

        Assert.True(File.Exists(path), $"{path} is missing: run this test with MOBISCUD_WRITE_CAPTURES=1 to write it");
        Assert.Equal(built, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Tshark_reads_every_message_cleanly_with_the_home_enb_ids_and_no_s1_setup()
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        var file = TestData.Capture(HomeEnbCapture.FileName);
        string[] crc = ["-o", "sctp.checksum:crc-32c"];
        var bad = await ExternalTool.RunAsync(tshark, ["-r", file, .. crc, "-Y", "_ws.malformed || _ws.expert.severity >= warning || !s1ap", "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(1));
        Assert.True(bad.ExitCode == 0, bad.StdErr);
        Assert.Equal(string.Empty, bad.StdOut.Trim());

        var rows = await ExternalTool.RunAsync(tshark, ["-r", file, .. crc, "-T", "fields", "-E", "separator=\t", "-e", "s1ap.procedureCode", "-e", "s1ap.homeENB_ID", "-e", "s1ap.CellIdentity", "-e", "ip.src", "-e", "sctp.data_tsn", "-e", "sctp.checksum.status"], TimeSpan.FromMinutes(1));
        var table = rows.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        Assert.Equal(18, table.Count);
        Assert.DoesNotContain(table, r => r[0] == "17"); // no S1 Setup: the tap started after it
        Assert.All(table, r => Assert.Equal("1", r[5])); // CRC32c good

        // HandoverRequired's Target-ID names HeNB 2 by its 28-bit Home eNB id (left-aligned in 4 octets).
        var required = table.Single(r => r[0] == "0" && r[3] == "10.1.0.1");
        Assert.Equal((HomeEnbCapture.HeNb2 << 4).ToString("x8", CultureInfo.InvariantCulture), required[1].Replace(":", string.Empty, StringComparison.Ordinal));

        // Every cell is one of the two HeNBs' (cell identity = HeNB id), never a macro reading of it.
        var cells = table.SelectMany(r => r[2].Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(c => Convert.ToUInt32(c, 16)).Distinct().Order().ToList();
        Assert.Equal([HomeEnbCapture.HeNb1, HomeEnbCapture.HeNb2], cells);
    }
}
