using System.Diagnostics;
using System.Text.Json;
using MobiScud.Cloud.Qmp;
using MobiScud.TestSupport;

namespace MobiScud.Cloud.Tests;

/// <summary>
/// The typed QMP commands against real QEMUs with no machine (they start in milliseconds): QEMU checks every argument
/// name and type against its own schema, so a wrong JSON shape fails here, not mid-migration.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class QmpCommandTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mobiscud-qmpcmd-").FullName;
    private readonly List<Process> _processes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync();
            }

            p.Dispose();
        }

        Directory.Delete(_dir, true);
    }

    [Fact]
    public async Task Mirror_over_NBD_runs_to_ready_completes_on_cancel_and_its_target_node_is_deleted()
    {
        await using var src = await StartAsync("src");
        await using var dst = await StartAsync("dst");
        var nbd = QmpInetAddress.Loopback(FreePort());
        await NullNodeAsync(src, "disk0");
        await NullNodeAsync(dst, "disk0");

        await dst.SendAsync(new NbdServerStart(new QmpLegacyInetSocket(nbd)));
        await dst.SendAsync(new BlockExportAddNbd("export0", "disk0", Writable: true, ExportName: "disk0"));
        await src.SendAsync(new BlockdevAddNbd("mirror-target-7", QmpInetSocket.From(nbd), "disk0"));
        Assert.Contains(await src.SendAsync(new QueryNamedBlockNodes(Flat: true)), n => n.NodeName == "mirror-target-7");

        var ready = src.WaitForEventAsync(BlockJobEvents.Ready, BlockJobEvents.Of("mirror-7"), TimeSpan.FromSeconds(20));
        await src.SendAsync(new BlockdevMirror("mirror-7", "disk0", "mirror-target-7", Sync: "full", CopyMode: "write-blocking"));
        var readyEvent = await ready;
        Assert.Equal(1024 * 1024, BlockJobEvents.Offset(readyEvent));
        Assert.Equal("mirror-7", Assert.Single(await src.SendAsync(new QueryBlockJobs())).Device);

        // A ready mirror cancelled without force completes (no pivot); the job is then gone and its target can go.
        var completed = src.WaitForEventAsync(BlockJobEvents.Completed, BlockJobEvents.Of("mirror-7"), TimeSpan.FromSeconds(20));
        await src.SendAsync(new BlockJobCancel("mirror-7"));
        Assert.Equal(1024 * 1024, BlockJobEvents.Offset(await completed));
        Assert.Empty(await src.SendAsync(new QueryBlockJobs()));
        await src.SendAsync(new BlockdevDel("mirror-target-7"));
        Assert.DoesNotContain(await src.SendAsync(new QueryNamedBlockNodes(Flat: true)), n => n.NodeName == "mirror-target-7");
        await dst.SendAsync(new NbdServerStop());

        // Best-effort clean-up reports what QEMU refused instead of throwing.
        Assert.False(await src.TrySendAsync(new BlockJobCancel("mirror-7", Force: true)));
        var gone = await Assert.ThrowsAsync<QmpException>(() => src.SendAsync(new BlockdevDel("mirror-target-7")));
        Assert.Contains("find", gone.Desc, StringComparison.OrdinalIgnoreCase); // what the rollback treats as "already gone"
    }

    [Fact]
    public async Task Migration_capabilities_and_parameters_are_what_QEMU_then_reports()
    {
        await using var qmp = await StartAsync("mig");
        await qmp.SendAsync(new MigrateSetCapabilities([new("events", true), new("auto-converge", true), new("xbzrle", false), new("multifd", true)]));
        var caps = (await qmp.ExecuteAsync("query-migrate-capabilities")).EnumerateArray()
            .ToDictionary(c => c.GetProperty("capability").GetString()!, c => c.GetProperty("state").GetBoolean());
        Assert.True(caps["events"]);
        Assert.True(caps["auto-converge"]);
        Assert.False(caps["xbzrle"]);
        Assert.True(caps["multifd"]);

        var set = new MigrateSetParameters { MaxBandwidth = 7654321, DowntimeLimit = 42, XbzrleCacheSize = 8L * 1024 * 1024, MultifdChannels = 3, MultifdCompression = "none" };
        Assert.False(set.IsEmpty);
        await qmp.SendAsync(set);
        var p = await qmp.ExecuteAsync("query-migrate-parameters");
        Assert.Equal(7654321, p.GetProperty("max-bandwidth").GetInt64());
        Assert.Equal(42, p.GetProperty("downtime-limit").GetInt64());
        Assert.Equal(8L * 1024 * 1024, p.GetProperty("xbzrle-cache-size").GetInt64());
        Assert.Equal(3, p.GetProperty("multifd-channels").GetInt32());
        Assert.Equal("none", p.GetProperty("multifd-compression").GetString());

        // Only the members given are sent: QEMU keeps the rest.
        Assert.True(new MigrateSetParameters().IsEmpty);
        await qmp.SendAsync(new MigrateSetParameters { DowntimeLimit = 30 });
        p = await qmp.ExecuteAsync("query-migrate-parameters");
        Assert.Equal(30, p.GetProperty("downtime-limit").GetInt64());
        Assert.Equal(7654321, p.GetProperty("max-bandwidth").GetInt64());

        // No migration yet: no status at all (adoption reads that as "migrate was never issued"); cancel is a no-op.
        var info = await qmp.SendAsync(new QueryMigrate());
        Assert.Null(info.Status);
        Assert.Equal(TimeSpan.Zero, info.TotalTime);
        Assert.Equal(0, info.Rounds);
        Assert.True(await qmp.TrySendAsync(new MigrateCancel()));
        var bad = await Assert.ThrowsAsync<QmpException>(() => qmp.SendAsync(new MigrateIncoming("tcp:127.0.0.1:1")));
        Assert.Equal("GenericError", bad.Class); // only a QEMU started with -incoming accepts it
    }

    [Fact]
    public async Task Stop_and_cont_change_what_query_status_reports()
    {
        await using var qmp = await StartAsync("run");
        Assert.Equal(new VmRunStatus("running", true), await qmp.SendAsync(new QueryStatus()));
        var stopped = qmp.WaitForEventAsync(RunStateEvents.Stop, null, TimeSpan.FromSeconds(20));
        await qmp.SendAsync(new Stop());
        await stopped;
        Assert.Equal(new VmRunStatus("paused", false), await qmp.SendAsync(new QueryStatus()));
        var resumed = qmp.WaitForEventAsync(RunStateEvents.Resume, null, TimeSpan.FromSeconds(20));
        await qmp.SendAsync(new Cont());
        await resumed;
        Assert.True((await qmp.SendAsync(new QueryStatus())).Running);
    }

    [Fact]
    public void Query_migrate_reads_a_finished_migration_and_leaves_missing_members_zero()
    {
        // Shaped as QEMU 7.2 answers after a completed migration (members we do not read trimmed).
        using var doc = JsonDocument.Parse("""
            {"status": "completed", "setup-time": 3, "downtime": 27, "total-time": 1834,
             "ram": {"total": 142934016, "transferred": 35321901, "duplicate": 26322, "normal": 8512, "dirty-sync-count": 3,
                     "mbps": 154.3, "downtime-bytes": 401408}}
            """);
        var info = new QueryMigrate().Read(doc.RootElement);
        Assert.Equal("completed", info.Status);
        Assert.Equal(TimeSpan.FromMilliseconds(1834), info.TotalTime);
        Assert.Equal(TimeSpan.FromMilliseconds(27), info.Downtime);
        Assert.Equal(35321901, info.RamTransferred);
        Assert.Equal(3, info.Rounds);

        using var failed = JsonDocument.Parse("""{"status": "failed", "error-desc": "Unable to write to socket: Broken pipe"}""");
        var f = new QueryMigrate().Read(failed.RootElement);
        Assert.Equal("Unable to write to socket: Broken pipe", f.ErrorDesc);
        Assert.Equal(TimeSpan.Zero, f.Downtime);
        Assert.Equal(0, f.RamTransferred);
    }

    private async Task<QmpClient> StartAsync(string name)
    {
        var bin = ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        var socket = Path.Combine(_dir, $"{name}.sock");
        var psi = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-machine", "none", "-display", "none", "-nodefaults", "-qmp", $"unix:{socket},server=on,wait=off" })
        {
            psi.ArgumentList.Add(a);
        }

        _processes.Add(Process.Start(psi)!);
        return await QmpClient.ConnectUnixAsync(socket, TimeSpan.FromSeconds(20));
    }

    /// <summary>A 1 MiB node that reads zeroes and drops writes (QEMU's null-co driver).</summary>
    private static Task NullNodeAsync(QmpClient qmp, string node) =>
        qmp.ExecuteAsync("blockdev-add", new Dictionary<string, object> { ["driver"] = "null-co", ["node-name"] = node, ["size"] = 1024 * 1024 });

    private static int FreePort() => TestPorts.Free();
}
