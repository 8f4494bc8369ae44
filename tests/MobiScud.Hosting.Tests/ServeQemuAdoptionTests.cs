using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.TestSupport;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// The real `mobiscud serve` (the built CLI, a child process) with QEMU PVMs, killed with SIGKILL and started again on
/// the same Redis state and run directory: the PVM is the same QEMU process with its guest state, adopted, not rebooted.
/// </summary>
public sealed class ServeQemuAdoptionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory($"mobiscud-serveadopt-{Environment.ProcessId}-").FullName;
    private readonly List<ServeProcess> _serves = [];
    private RedisServer? _redis;

    private string RunDirectory => Path.Combine(_root, "qemu");

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    [Fact]
    public async Task A_killed_serve_restarted_on_the_same_state_adopts_its_qemu_pvm_even_mid_migration_and_reports_a_broken_manifest()
    {
        ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        ExternalTool.Require("busybox", "busybox-static");
        var ue = Ue(9);
        var pvm = PvmId.For(ue);
        var events = Path.Combine(_root, "attach.jsonl");
        await File.WriteAllTextAsync(events, JsonSerializer.Serialize<UeEvent>(Attach(9, EnbA, Now), McJson.Options) + "\n");
        var api = RedisServer.FreePort();
        var settings = Settings(new()
        {
            ["MobiScud:Api:Port"] = api.ToString(),
            ["MobiScud:Storage:Kind"] = "Redis",
            ["MobiScud:Storage:Redis"] = _redis!.Endpoint,
            ["MobiScud:Hypervisor:Kind"] = "Qemu",
            ["MobiScud:Hypervisor:Qemu:RunDirectory"] = RunDirectory,
            ["MobiScud:Hypervisor:Qemu:FirstPort"] = TestPorts.RandomBase().ToString(),
            ["MobiScud:Hypervisor:Qemu:PortsPerSite"] = "20",
        });

        // 1. serve attaches the UE from an event file: its PVM boots at site-a. A key goes into the guest.
        var first = await StartServeAsync("first", settings, ("MobiScud:Taps:0:Events", events), ("MobiScud:Taps:0:Speed", "Max"));
        using var client = Client(api);
        await WaitForPvmAsync(client, first, "site-a");
        var manifest = SingleManifest();
        var token = await GuestService.RequestAsync(manifest.Ports.KeyValue, "TOKEN");
        Assert.Equal("OK", await GuestService.RequestAsync(manifest.Ports.KeyValue, "PUT restart-proof yes-it-is"));
        output.WriteLine($"first serve pid {first.Pid}: {pvm} in QEMU pid {manifest.Pid}, {token}");

        // 2. SIGKILL: no shutdown code runs. The QEMU lives on in its own session.
        first.Kill();
        await first.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(QemuInstance.IsInstanceProcess(manifest.Pid, manifest.Directory), "the PVM's QEMU died with the killed serve");

        // A broken manifest from some earlier mishap at site-b: reported by name, cleaned, and the service still starts.
        var broken = Directory.CreateDirectory(Path.Combine(RunDirectory, "site-b", "pvm-imsi-001010000000099.3")).FullName;
        await File.WriteAllTextAsync(QemuManifest.PathIn(broken), "not json at all");

        // 3. serve again, same state and run directory, no tap: the restart reconciliation alone decides.
        var second = await StartServeAsync("second", settings);
        await WaitForPvmAsync(client, second, "site-a");
        await Wait.Until(() => Task.FromResult(second.Log.Contains($"adopted {pvm}", StringComparison.Ordinal)), "serve's log of the adoption");
        Assert.Contains($"QEMU instance not adopted: {QemuManifest.PathIn(broken)}: not a QEMU instance manifest", second.Log, StringComparison.Ordinal);
        Assert.False(Directory.Exists(broken));
        output.WriteLine(second.Log.Split('\n').First(l => l.Contains("QEMU adoption:", StringComparison.Ordinal)).Trim());

        var adopted = SingleManifest();
        Assert.Equal((manifest.Pid, manifest.Directory, "site-a"), (adopted.Pid, adopted.Directory, adopted.Site));
        Assert.Equal([manifest.Pid], QemuProcesses.Under(_root));
        Assert.Equal(token, await GuestService.RequestAsync(adopted.Ports.KeyValue, "TOKEN"));
        Assert.Equal("VALUE yes-it-is", await GuestService.RequestAsync(adopted.Ports.KeyValue, "GET restart-proof"));

        // The MC booted the PVM once: the only create in its timeline is the attach's.
        var timeline = await client.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue.Value}/timeline");
        var boots = timeline.EnumerateArray()
            .SelectMany(t => t.TryGetProperty("commands", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().Select(x => x.GetString() ?? "") : [])
            .Count(c => c.StartsWith("CreatePvm", StringComparison.Ordinal) || c.StartsWith("ResumePvm", StringComparison.Ordinal));
        Assert.Equal(1, boots);
        var view = await client.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue.Value}");
        output.WriteLine($"after the restart: {view}");

        // 4. A hand-made move to site-b (a pin: the MC keeps wanting it there), and serve is killed while the migration
        // is in flight: as soon as the destination's manifest exists. Whatever QEMU got to (copying, or done), the next
        // start settles it from the source's query-migrate, and the MC ends with the PVM at site-b.
        var move = await client.PostAsJsonAsync($"/api/v1/pvms/{ue.Value}/move", new { site = "site-b" });
        Assert.True(move.IsSuccessStatusCode, $"move: {move.StatusCode} {await move.Content.ReadAsStringAsync()}");
        await Wait.Until(() => Task.FromResult(Manifests().Any(m => m.Role == QemuInstanceRole.Destination) || second.HasExited), "the migration to site-b under way", seconds: 60);
        second.Kill();
        await second.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"killed mid-migration: {string.Join("; ", Manifests().Select(m => $"{m.Site} {m.Role} pid {m.Pid} migration {m.MigrationSequence}"))}");

        var third = await StartServeAsync("third", settings, ("MobiScud:MigrationRetryAfter", "00:00:02"));
        await WaitForPvmAsync(client, third, "site-b");
        await Wait.Until(() => Task.FromResult(third.Log.Contains($"adopted {pvm}", StringComparison.Ordinal)), "serve's log of the adoption");
        var settled = third.Log.Split('\n').First(l => l.Contains($"adopted {pvm}", StringComparison.Ordinal)).Trim();
        output.WriteLine(settled);
        output.WriteLine(third.Log.Split('\n').First(l => l.Contains("QEMU adoption:", StringComparison.Ordinal)).Trim());
        Assert.True(settled.Contains("had completed", StringComparison.Ordinal) || settled.Contains("cancelled", StringComparison.Ordinal), settled);
        await Wait.Until(() => Task.FromResult(SingleOrNone() is { Site: "site-b", MigrationSequence: null } && QemuProcesses.Under(_root).Count == 1), "one QEMU, at site-b, no migration left");
        var atB = SingleManifest();
        Assert.Equal([atB.Pid], QemuProcesses.Under(_root));
        Assert.Equal(token, await GuestService.RequestAsync(atB.Ports.KeyValue, "TOKEN"));
        Assert.Equal("VALUE yes-it-is", await GuestService.RequestAsync(atB.Ports.KeyValue, "DGET restart-proof"));

        // 5. A graceful stop (SIGTERM) leaves the PVM running too.
        await third.TerminateAsync();
        Assert.Equal(0, third.ExitCode);
        Assert.Equal([atB.Pid], QemuProcesses.Under(_root));
    }

    /// <summary>The readable manifests under the run directory now (instance directories come and go while it looks).</summary>
    private List<QemuManifest> Manifests()
    {
        try
        {
            return [.. Directory.EnumerateFiles(RunDirectory, QemuManifest.FileName, SearchOption.AllDirectories).Select(p => QemuManifest.TryRead(p, out _)).OfType<QemuManifest>()];
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    private QemuManifest? SingleOrNone() => Manifests() is [var one] ? one : null;

    private async Task WaitForPvmAsync(HttpClient client, ServeProcess serve, string site)
    {
        try
        {
            await Wait.Until(
                async () =>
                {
                    if (serve.HasExited)
                    {
                        throw new Xunit.Sdk.XunitException($"serve ({serve.Name}) exited with {serve.ExitCode}:\n{serve.Log}");
                    }

                    try
                    {
                        var pvms = await client.GetFromJsonAsync<JsonElement>("/api/v1/pvms");
                        return pvms.EnumerateArray().Any(p => p.GetProperty("site").GetString() == site && p.GetProperty("status").GetString() == "Running");
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                    {
                        return false;
                    }
                },
                $"serve ({serve.Name}) shows the PVM running at {site}",
                seconds: 120);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"serve ({serve.Name}) never showed the PVM running at {site}; its log:\n{serve.Log}");
        }
    }

    /// <summary>The one QEMU instance manifest under the run directory.</summary>
    private QemuManifest SingleManifest()
    {
        var path = Assert.Single(Directory.EnumerateFiles(RunDirectory, QemuManifest.FileName, SearchOption.AllDirectories));
        var m = QemuManifest.TryRead(path, out var error);
        Assert.True(m is not null, $"{path}: {error}");
        return m;
    }

    private async Task<ServeProcess> StartServeAsync(string name, Dictionary<string, string?> settings, params (string Key, string Value)[] extra)
    {
        // The configuration as a JSON file (keys "A:B:0:C" nest as objects; the binder reads "0", "1" as list indices).
        var config = new JsonObject();
        foreach (var (key, value) in settings.Select(kv => (kv.Key, kv.Value)).Concat(extra.Select(e => (e.Key, (string?)e.Value))))
        {
            var node = config;
            var parts = key.Split(':');
            foreach (var part in parts[..^1])
            {
                node = node[part] as JsonObject ?? (JsonObject)(node[part] = new JsonObject());
            }

            node[parts[^1]] = value;
        }

        var file = Path.Combine(_root, $"{name}.json");
        await File.WriteAllTextAsync(file, config.ToJsonString());
        var serve = ServeProcess.Start(name, Path.Combine(AppContext.BaseDirectory, "mobiscud.dll"), file, _root);
        _serves.Add(serve);
        return serve;
    }

    private static HttpClient Client(int port)
    {
        var c = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServeTestHost.Token);
        return c;
    }

    /// <summary>Every serve is killed, every QEMU under the test's directory (by pidfile, then by command line) too.</summary>
    public async Task DisposeAsync()
    {
        foreach (var s in _serves)
        {
            s.Kill();
        }

        if (Directory.Exists(RunDirectory))
        {
            foreach (var pidfile in Directory.EnumerateFiles(RunDirectory, QemuInstance.PidFile, SearchOption.AllDirectories))
            {
                QemuInstance.KillByPidFile(Path.GetDirectoryName(pidfile)!);
            }
        }

        QemuProcesses.KillUnder(_root);

        foreach (var s in _serves)
        {
            await s.Exited.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            s.Dispose();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        await Wait.Until(() => Task.FromResult(QemuProcesses.Under(_root).Count == 0), "the test's QEMUs are gone");
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>`dotnet mobiscud.dll serve --config FILE` with its output collected (stdout and stderr, in one log).</summary>
    private sealed class ServeProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private ServeProcess(string name, Process process)
        {
            Name = name;
            _process = process;
        }

        public string Name { get; }

        public int Pid => _process.Id;

        public Task Exited => _process.WaitForExitAsync();

        public bool HasExited => _process.HasExited;

        public int ExitCode => _process.ExitCode;

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static ServeProcess Start(string name, string cli, string config, string workingDirectory)
        {
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
            foreach (var a in new[] { cli, "serve", "--config", config })
            {
                psi.ArgumentList.Add(a);
            }

            var serve = new ServeProcess(name, Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet"));
            serve._process.OutputDataReceived += (_, e) => serve.Append(e.Data);
            serve._process.ErrorDataReceived += (_, e) => serve.Append(e.Data);
            serve._process.BeginOutputReadLine();
            serve._process.BeginErrorReadLine();
            return serve;
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(line);
                }
            }
        }

        /// <summary>SIGKILL to serve alone (not its process tree): what a crash or an OOM kill does.</summary>
        public void Kill()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: false);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }

        /// <summary>SIGTERM (a service manager's stop) and wait for the graceful shutdown.</summary>
        public async Task TerminateAsync()
        {
            using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString() }, UseShellExecute = false })!)
            {
                await kill.WaitForExitAsync();
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        public void Dispose() => _process.Dispose();
    }
}
