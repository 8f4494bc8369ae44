using System.Diagnostics;
using MobiScud.Cloud.Qmp;
using MobiScud.TestSupport;

namespace MobiScud.Cloud.Tests;

/// <summary>The QMP client against a real QEMU with no machine (starts in milliseconds).</summary>
[Collection(QemuCollection.Name)]
public sealed class QmpRealQemuTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mobiscud-qmp-").FullName;
    private Process? _qemu;

    private string Socket => Path.Combine(_dir, "qmp.sock");

    public Task InitializeAsync()
    {
        var bin = ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        var psi = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-machine", "none", "-display", "none", "-nodefaults", "-qmp", $"unix:{Socket},server=on,wait=off" })
        {
            psi.ArgumentList.Add(a);
        }

        _qemu = Process.Start(psi);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_qemu is { HasExited: false })
        {
            _qemu.Kill(entireProcessTree: true);
            await _qemu.WaitForExitAsync();
        }

        _qemu?.Dispose();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public async Task Negotiates_runs_commands_and_reports_QEMUs_error_classes()
    {
        await using var qmp = await QmpClient.ConnectUnixAsync(Socket, TimeSpan.FromSeconds(20));
        Assert.StartsWith("7.", qmp.QemuVersion, StringComparison.Ordinal);
        var status = await qmp.ExecuteAsync("query-status");
        Assert.Equal("running", status.GetProperty("status").GetString());

        var notFound = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("no-such-command"));
        Assert.Equal("CommandNotFound", notFound.Class);
        var badArg = await Assert.ThrowsAsync<QmpException>(() =>
            qmp.ExecuteAsync("migrate-set-parameters", new Dictionary<string, object> { ["downtime-limit"] = "soon" }));
        Assert.Equal("GenericError", badArg.Class);

        // Parameters we set are what QEMU then reports.
        await qmp.ExecuteAsync("migrate-set-parameters", new Dictionary<string, object> { ["downtime-limit"] = 42, ["max-bandwidth"] = 1234567 });
        var p = await qmp.ExecuteAsync("query-migrate-parameters");
        Assert.Equal(42, p.GetProperty("downtime-limit").GetInt64());
        Assert.Equal(1234567, p.GetProperty("max-bandwidth").GetInt64());
    }

    [Fact]
    public async Task Events_arrive_and_quit_closes_the_connection()
    {
        await using var qmp = await QmpClient.ConnectUnixAsync(Socket, TimeSpan.FromSeconds(20));
        var stop = qmp.WaitForEventAsync("STOP", null, TimeSpan.FromSeconds(20));
        await qmp.ExecuteAsync("stop");
        Assert.Equal("STOP", (await stop).Name);

        var shutdown = qmp.WaitForEventAsync("SHUTDOWN", null, TimeSpan.FromSeconds(20));
        await qmp.ExecuteAsync("quit");
        Assert.Equal("host-qmp-quit", (await shutdown).DataString("reason"));
        await qmp.Closed.WaitAsync(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAsync<QmpConnectionClosedException>(() => qmp.ExecuteAsync("query-status"));
    }

    [Fact]
    public async Task Concurrent_commands_get_their_own_replies()
    {
        await using var qmp = await QmpClient.ConnectUnixAsync(Socket, TimeSpan.FromSeconds(20));
        var tasks = Enumerable.Range(0, 50).Select(i => i % 2 == 0
            ? qmp.ExecuteAsync("query-status").ContinueWith(t => t.Result.GetProperty("status").GetString()!)
            : qmp.ExecuteAsync("query-version").ContinueWith(t => t.Result.GetProperty("qemu").GetProperty("major").GetInt32().ToString()));
        var results = await Task.WhenAll(tasks);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? "running" : "7", results[i]);
        }
    }
}
