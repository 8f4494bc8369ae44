using System.Net;
using System.Net.Http.Headers;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace MobiScud.Hosting.Tests;

/// <summary>`mobiscud serve` started in-process on free loopback ports, with a hypervisor that can outlive it.</summary>
internal sealed class ServeTestHost : IAsyncDisposable
{
    public const string Token = "test-token-0123456789abcdef";
    public static readonly SiteId A = new("site-a");
    public static readonly SiteId B = new("site-b");
    public static readonly SiteId C = new("site-c");
    public static readonly EnbId EnbA = new(1);
    public static readonly EnbId EnbB = new(3);
    public static readonly EnbId EnbC = new(4);

    private ServeTestHost(WebApplication app) => App = app;

    public WebApplication App { get; }

    public EventPipeline Pipeline => App.Services.GetRequiredService<EventPipeline>();

    public IGrainFactory Grains => App.Services.GetRequiredService<IGrainFactory>();

    public ISteeringBackend Switch => App.Services.GetRequiredService<ISteeringBackend>();

    public Uri BaseAddress { get; private set; } = null!;

    public static Dictionary<string, string?> Settings(Dictionary<string, string?>? extra = null)
    {
        var s = new Dictionary<string, string?>
        {
            ["MobiScud:Api:Token"] = Token,
            ["MobiScud:Api:Port"] = "0",
            ["MobiScud:Silo:SiloPort"] = RedisServer.FreePort().ToString(),
            ["MobiScud:Silo:GatewayPort"] = RedisServer.FreePort().ToString(),
            ["MobiScud:Silo:ClusterId"] = $"test-{Guid.NewGuid():N}",
            ["MobiScud:Sites:0:Name"] = A.Value,
            ["MobiScud:Sites:0:Enbs:0"] = "1",
            ["MobiScud:Sites:0:Enbs:1"] = "2",
            ["MobiScud:Sites:1:Name"] = B.Value,
            ["MobiScud:Sites:1:Enbs:0"] = "3",
            ["MobiScud:Sites:2:Name"] = C.Value,
            ["MobiScud:Sites:2:Enbs:0"] = "4",
            ["MobiScud:MigrationRetryAfter"] = "01:00:00",
        };
        foreach (var (k, v) in extra ?? [])
        {
            s[k] = v;
        }

        return s;
    }

    /// <summary>
    /// <see cref="Settings"/> on a backhaul line site-a - site-b - site-c with the core 5 ms behind site-a (links 0: a-b,
    /// 1: b-c, 2: a-core): from site-a the next site is site-b (1 hop, 1 ms), not the core (1 hop, 5 ms).
    /// </summary>
    public static Dictionary<string, string?> OnBackhaulLine(Dictionary<string, string?> extra)
    {
        var line = new Dictionary<string, string?>
        {
            ["MobiScud:Backhaul:Links:0:A"] = A.Value,
            ["MobiScud:Backhaul:Links:0:B"] = B.Value,
            ["MobiScud:Backhaul:Links:1:A"] = B.Value,
            ["MobiScud:Backhaul:Links:1:B"] = C.Value,
            ["MobiScud:Backhaul:Links:2:A"] = A.Value,
            ["MobiScud:Backhaul:Links:2:B"] = "core",
            ["MobiScud:Backhaul:Links:2:DelayMs"] = "5",
        };
        foreach (var (k, v) in extra)
        {
            line[k] = v;
        }

        return Settings(line);
    }

    public static async Task<ServeTestHost> StartAsync(Dictionary<string, string?> settings, IPvmBackend? hypervisor = null, ISteeringBackend? sw = null, InProcessStateStore? stateStore = null, ITestOutputHelper? output = null, Action<ISiloBuilder>? silo = null)
    {
        var app = ServeHost.Build([], null, new ServeOverrides
        {
            Settings = settings,
            Hypervisor = hypervisor,
            Switch = sw,
            StateStore = stateStore,
            Silo = silo,
            Logging = l =>
            {
                l.SetMinimumLevel(LogLevel.Warning);
                if (output is not null)
                {
                    l.AddProvider(new TestOutputLoggerProvider(output));
                }
            },
        });
        await app.StartAsync();
        var host = new ServeTestHost(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.BaseAddress = new Uri(address);
        await app.Services.GetRequiredService<Reconciler>().Completed.WaitAsync(TimeSpan.FromSeconds(60));
        return host;
    }

    public HttpClient Client(string? token = Token)
    {
        var c = new HttpClient { BaseAddress = BaseAddress };
        if (token is not null)
        {
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return c;
    }

    public async Task<UeState?> State(UeId ue) => (await Grains.GetGrain<IUeGrain>(ue.Value).Get()).State;

    public static UeAttached Attach(int i, EnbId enb, TimeSpan at) => new(
        at, Ue(i), $"00101{i:D10}", UeAddress(i), enb, null,
        [new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.77.0.2"), (uint)(0x1000 + i)), new GtpEndpoint(EnbAddress(enb), (uint)(0x2000 + i)))]);

    public static PathSwitched Switched(int i, EnbId to, TimeSpan at) =>
        new(at, Ue(i), to, [new BearerDownlink(5, new GtpEndpoint(EnbAddress(to), (uint)(0x3000 + i)))]);

    public static UeId Ue(int i) => new($"imsi-00101{i:D10}");

    public static IPAddress UeAddress(int i) => new([10, 45, (byte)(i >> 8), (byte)i]);

    public static IPAddress EnbAddress(EnbId enb) => new([10, 77, 1, (byte)enb.Value]);

    public static TimeSpan Now => DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch;

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
