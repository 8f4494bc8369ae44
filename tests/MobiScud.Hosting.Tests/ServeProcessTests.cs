using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// `mobiscud serve` as an operator runs it: the CLI in its own process, stopped with SIGTERM, started again on the same
/// Redis. Everything the tap applied before the stop is there after it; the logs are JSON lines when asked for.
/// </summary>
public sealed class ServeProcessTests(ITestOutputHelper output)
{
    private const string Capture = "open5gs_testepc_2019.pcapng";

    [Fact]
    public async Task Sigterm_stops_serve_gracefully_and_a_new_process_finds_every_ue_as_it_was()
    {
        await using var redis = await RedisServer.StartAsync();

        // The UEs and final states `mobiscud replay` derives from the capture, with its eNB -> site map as serve's sites.
        var session = new ReplaySession(null);
        ReplayResult reference;
        using (var source = CaptureFile.Open(TestData.Capture(Capture)))
        {
            reference = session.Run(source, Capture);
        }

        var common = new List<string>
        {
            "--storage", "redis", "--redis", redis.Endpoint, "--token", ServeTestHost.Token,
            $"--MobiScud:Silo:ClusterId=test-{Guid.NewGuid():N}",
        };
        var i = 0;
        foreach (var (enb, site) in reference.Sites)
        {
            common.Add($"--MobiScud:Sites:{i}:Name={site.Value}");
            common.Add($"--MobiScud:Sites:{i}:Enbs:0={enb.Value}");
            i++;
        }

        var expected = session.States.ToDictionary(kv => kv.Key.Value, kv => kv.Value!);
        Assert.NotEmpty(expected);

        string before;
        await using (var first = Serve([.. common, "--pcap", TestData.Capture(Capture), "--speed", "Max", "--Logging:Console:FormatterName=json", "--Logging:LogLevel:MobiScud=Information"]))
        {
            using var api = await first.ReadyAsync();
            await Wait.Until(async () => (await Ues(api)).Count == expected.Count, $"all {expected.Count} UEs of the capture known");
            await Wait.Until(async () => (await Ues(api)).All(u => u.GetProperty("connection").GetString() == expected[u.GetProperty("ue").GetString()!].Connection.ToString()), "every UE in the capture's final connection state");
            before = Stable(await Ues(api));
            output.WriteLine(before);

            Assert.Equal(0, await first.TerminateAsync());

            // JSON lines, each with the category and the message's named values.
            var lines = first.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(lines);
            foreach (var line in lines)
            {
                using var doc = JsonDocument.Parse(line);
                Assert.True(doc.RootElement.TryGetProperty("Category", out _), line);
                Assert.True(doc.RootElement.TryGetProperty("Timestamp", out _), line);
            }

            Assert.Contains(lines, l => l.Contains("\"Category\":\"MobiScud.Hosting.Pipeline.Reconciler\"", StringComparison.Ordinal) && l.Contains("\"State\":", StringComparison.Ordinal));
        }

        await using var second = Serve(common);
        using var again = await second.ReadyAsync();
        Assert.Equal(before, Stable(await Ues(again)));
        Assert.Equal(0, await second.TerminateAsync());
    }

    [Theory]
    [InlineData("redis", "127.0.0.1:{0},password=hunter2", "Redis at 127.0.0.1:{0} (MobiScud:Storage:Redis) is unreachable")]
    [InlineData("postgres", "Host=127.0.0.1;Port={0};Database=mc;Username=mc;Password=hunter2", "PostgreSQL at postgresql://mc@127.0.0.1:{0}/mc (MobiScud:Storage:Postgres) is unreachable")]
    public async Task Unreachable_storage_is_one_line_naming_the_key_and_server_and_exit_3(string kind, string connection, string expected)
    {
        var port = TestServerProcess.FreePort(); // nothing listens there
        var cli = Path.Combine(AppContext.BaseDirectory, "mobiscud.dll");
        var r = await ExternalTool.RunAsync("dotnet", [cli, "serve", "--storage", kind, $"--{kind}", string.Format(connection, port), "--token", ServeTestHost.Token, "--port", "0"], TimeSpan.FromMinutes(2));
        output.WriteLine(r.StdErr);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains(string.Format(expected, port), r.StdErr);
        Assert.DoesNotContain("hunter2", r.StdErr + r.StdOut);
        Assert.DoesNotContain("   at ", r.StdErr + r.StdOut);
    }

    [Theory]
    [InlineData("--port", "MobiScud:Api:Port")]
    [InlineData("--silo-port", "MobiScud:Silo:SiloPort")]
    [InlineData("--gateway-port", "MobiScud:Silo:GatewayPort")]
    public async Task A_taken_port_is_a_configuration_error_naming_its_key(string option, string key)
    {
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var args = new Dictionary<string, string> { ["--port"] = "0", ["--silo-port"] = TestServerProcess.FreePort().ToString(), ["--gateway-port"] = TestServerProcess.FreePort().ToString() };
        args[option] = port.ToString();
        var cli = Path.Combine(AppContext.BaseDirectory, "mobiscud.dll");
        var r = await ExternalTool.RunAsync("dotnet", [cli, "serve", "--token", ServeTestHost.Token, .. args.SelectMany(kv => new[] { kv.Key, kv.Value })], TimeSpan.FromMinutes(2));
        output.WriteLine(r.StdErr);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{key} {port} on 127.0.0.1: Address already in use", r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr + r.StdOut);
    }

    /// <summary>What a restart must not change: who the UE is, where it is connected, and its PVM's identity.</summary>
    private static string Stable(List<JsonElement> ues) => string.Join("\n", ues
        .Select(u => string.Join(" ", new[] { "ue", "imsi", "ueAddress", "connection", "servingEnb", "pvm" }.Select(f => u.GetProperty(f).ToString())))
        .Order(StringComparer.Ordinal));

    private static async Task<List<JsonElement>> Ues(HttpClient api) => (await api.GetFromJsonAsync<List<JsonElement>>("/api/v1/ues?limit=10000"))!;

    private ServeProcess Serve(IReadOnlyList<string> args) => new(args, output);

    private sealed class ServeProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _out = new();
        private readonly StringBuilder _err = new();
        private readonly ITestOutputHelper _output;
        private readonly int _port = TestServerProcess.FreePort();

        public ServeProcess(IReadOnlyList<string> args, ITestOutputHelper output)
        {
            _output = output;
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mobiscud.dll"));
            psi.ArgumentList.Add("serve");
            foreach (var a in args.Concat(["--port", _port.ToString(), "--silo-port", TestServerProcess.FreePort().ToString(), "--gateway-port", TestServerProcess.FreePort().ToString()]))
            {
                psi.ArgumentList.Add(a);
            }

            _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start mobiscud serve");
            _process.OutputDataReceived += (_, e) => Append(_out, e.Data);
            _process.ErrorDataReceived += (_, e) => Append(_err, e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string StdOut
        {
            get
            {
                lock (_out)
                {
                    return _out.ToString();
                }
            }
        }

        private static void Append(StringBuilder sb, string? line)
        {
            if (line is not null)
            {
                lock (sb)
                {
                    sb.AppendLine(line);
                }
            }
        }

        /// <summary>An API client once /readyz says the restart reconciliation is done.</summary>
        public async Task<HttpClient> ReadyAsync()
        {
            var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServeTestHost.Token);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (true)
            {
                try
                {
                    if ((await api.GetAsync("/readyz")).IsSuccessStatusCode)
                    {
                        return api;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet, or exited: the check below says which, with its output
                }

                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    api.Dispose();
                    throw new InvalidOperationException($"serve did not become ready (exited: {_process.HasExited}); stderr:\n{_err}\nstdout:\n{StdOut}");
                }

                await Task.Delay(100);
            }
        }

        /// <summary>SIGTERM, as systemd or a container runtime stops it; the exit code once it has stopped.</summary>
        public async Task<int> TerminateAsync()
        {
            Assert.Equal(0, (await ExternalTool.RunAsync("kill", ["-TERM", _process.Id.ToString()], TimeSpan.FromSeconds(10))).ExitCode);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await _process.WaitForExitAsync(cts.Token);
            _output.WriteLine($"serve exited {_process.ExitCode}; stderr:\n{_err}");
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
