using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Hosting.Tests;

/// <summary>`mobiscud serve` as a child process on free ports: ready-wait, SIGKILL or SIGTERM, its output and exit code.</summary>
internal sealed class ServeChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly ITestOutputHelper? _output;

    /// <param name="wrapper">A command to run it under (e.g. ip netns exec NS), which must exec it.</param>
    /// <param name="siloPorts">Silo and gateway ports; a restart on the same ones is what a supervisor does, and lets
    /// Orleans supersede the killed silo's membership entry at once instead of probing it until it is declared dead.</param>
    public ServeChild(IReadOnlyList<string> args, ITestOutputHelper? output, int? port = null, IReadOnlyList<string>? wrapper = null, (int Silo, int Gateway)? siloPorts = null)
    {
        _output = output;
        Port = port ?? TestServerProcess.FreePort();
        var psi = new ProcessStartInfo(wrapper is { Count: > 0 } ? wrapper[0] : "dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var w in wrapper?.Skip(1).Append("dotnet") ?? [])
        {
            psi.ArgumentList.Add(w);
        }

        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mobiscud.dll"));
        psi.ArgumentList.Add("serve");
        foreach (var a in args.Concat(["--port", Port.ToString(), "--silo-port", (siloPorts?.Silo ?? TestServerProcess.FreePort()).ToString(), "--gateway-port", (siloPorts?.Gateway ?? TestServerProcess.FreePort()).ToString()]))
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start mobiscud serve");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Everything it wrote so far (stdout and stderr interleaved).</summary>
    public string Output
    {
        get
        {
            lock (_out)
            {
                return _out.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_out)
            {
                _out.AppendLine(line);
            }
        }
    }

    public HttpClient Client()
    {
        var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServeTestHost.Token);
        return api;
    }

    /// <summary>An API client once /readyz answers 200.</summary>
    public async Task<HttpClient> ReadyAsync(TimeSpan? timeout = null)
    {
        var api = Client();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
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
                throw new InvalidOperationException($"serve did not become ready (exited: {_process.HasExited}); output:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: the crash of a host, nothing flushed.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _output?.WriteLine($"serve output:\n{Output}");
        _process.Dispose();
    }
}
