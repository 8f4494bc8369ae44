using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Api;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Dashboard;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace MobiScud.Hosting;

/// <summary>What a caller (tests, the bench) may supply instead of the defaults built from configuration.</summary>
public sealed class ServeOverrides
{
    /// <summary>A hypervisor that outlives the service (tests restart the service around it).</summary>
    public IPvmBackend? Hypervisor { get; init; }

    public ISteeringBackend? Switch { get; init; }

    /// <summary>Extra configuration applied last (tests).</summary>
    public IDictionary<string, string?>? Settings { get; init; }

    /// <summary>Another silo of the same cluster to join (localhost clustering with several silos in one process).</summary>
    public IPEndPoint? PrimarySilo { get; init; }

    public Action<ILoggingBuilder>? Logging { get; init; }

    /// <summary>Applied to the silo after serve's own configuration (tests: a placement director that makes a spread certain).</summary>
    public Action<ISiloBuilder>? Silo { get; init; }

    /// <summary>The `Memory` storage's snapshots, shared by silos of one process (bench) or kept across a restart.</summary>
    public InProcessStateStore? StateStore { get; init; }
}

/// <summary>`mobiscud serve`: Generic Host with the Orleans silo, the event pipeline, the adapters, the REST API and metrics.</summary>
public static class ServeHost
{
    /// <summary>How long a stop (SIGTERM) may take: taps stop, the pipeline drains, grains write their state, the silo leaves the cluster.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Reads and validates the configuration (files, environment, command line), naming every bad key.</summary>
    public static MobiScudOptions LoadOptions(IConfiguration configuration)
    {
        var options = new MobiScudOptions();
        var strict = StrictConfiguration.Check(configuration.GetSection(MobiScudOptions.Section), typeof(MobiScudOptions));
        if (strict.Count > 0)
        {
            throw new OptionsValidationException(MobiScudOptions.Section, typeof(MobiScudOptions), strict);
        }

        try
        {
            configuration.GetSection(MobiScudOptions.Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder names the key and the value it could not convert.
            throw new OptionsValidationException(MobiScudOptions.Section, typeof(MobiScudOptions), [e.Message + (e.InnerException is { } i ? " " + i.Message : "")]);
        }

        var result = new MobiScudOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(MobiScudOptions.Section, typeof(MobiScudOptions), result.Failures);
        }

        return options;
    }

    /// <summary>The command line's own switches mapped onto configuration keys.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--storage"] = "MobiScud:Storage:Kind",
        ["--redis"] = "MobiScud:Storage:Redis",
        ["--postgres"] = "MobiScud:Storage:Postgres",
        ["--port"] = "MobiScud:Api:Port",
        ["--token"] = "MobiScud:Api:Token",
        ["--silo-port"] = "MobiScud:Silo:SiloPort",
        ["--gateway-port"] = "MobiScud:Silo:GatewayPort",
        ["--events"] = "MobiScud:Taps:0:Events",
        ["--speed"] = "MobiScud:Taps:0:Speed",
        ["--pcap"] = "MobiScud:Taps:0:Pcap",
        ["--interface"] = "MobiScud:Taps:0:Interface",
        ["--hypervisor"] = "MobiScud:Hypervisor:Kind",
    };

    public static WebApplication Build(string[] args, string? configFile = null, ServeOverrides? overrides = null)
    {
        overrides ??= new ServeOverrides();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        var config = builder.Configuration;
        config.Sources.Clear();
        config.AddJsonFile("appsettings.json", optional: true);
        config.AddYamlFile(Path.Combine(AppContext.BaseDirectory, "appsettings.yaml"), optional: true);
        if (configFile is not null)
        {
            if (configFile.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || configFile.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            {
                config.AddYamlFile(Path.GetFullPath(configFile), optional: false);
            }
            else
            {
                config.AddJsonFile(Path.GetFullPath(configFile), optional: false);
            }
        }

        config.AddEnvironmentVariables();
        config.AddCommandLine(args, SwitchMappings);
        if (overrides.Settings is not null)
        {
            config.AddInMemoryCollection(overrides.Settings);
        }

        var options = LoadOptions(config);
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // Orleans' placement retries log every attempt at Information through Polly.
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        // The standard Logging section (after our defaults, so it can override them): levels per category, and
        // Logging:Console:FormatterName json for one JSON object per line, with the message's named values as fields.
        builder.Logging.AddConfiguration(config.GetSection("Logging"));
        builder.Logging.AddConsole();
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
        overrides.Logging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        var certificate = options.Api.Certificate is null ? null : ApiCertificate.Load(options.Api);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(options.Api.Address), options.Api.Port, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));

        builder.UseOrleans(silo =>
        {
            ConfigureSilo(silo, options, overrides.PrimarySilo, overrides.StateStore);
            overrides.Silo?.Invoke(silo);
        });
        AddServices(builder.Services, builder.Configuration, options, overrides);
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(o => McJson.UseEnumNames(o.SerializerOptions));
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(HostingMetrics.MeterName).AddPrometheusExporter());

        var app = builder.Build();
        if (certificate is null && !IPAddress.IsLoopback(IPAddress.Parse(options.Api.Address)))
        {
            app.Logger.LogWarning("The REST API listens on {Address} without TLS: its bearer token crosses the network in clear (set MobiScud:Api:Certificate)", options.Api.Address);
        }

        app.UseMiddleware<BearerTokenMiddleware>();
        app.UseWebSockets();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapOpenApi();
        ApiEndpoints.Map(app);
        DashboardEndpoints.Map(app);
        return app;
    }

    /// <summary>
    /// Why the host stopped on its own, or null for an ordinary stop: a background service that failed makes the host stop
    /// (BackgroundServiceExceptionBehavior.StopHost), and the process must then exit non-zero so a supervisor restarts it.
    /// </summary>
    public static string? FatalError(IServiceProvider services)
    {
        foreach (var service in services.GetServices<IHostedService>().OfType<BackgroundService>())
        {
            if (service.ExecuteTask is { IsFaulted: true } failed)
            {
                var e = failed.Exception!.GetBaseException();
                return $"{service.GetType().Name} failed: {e.GetType().Name}: {e.Message}";
            }
        }

        return null;
    }

    public static void ConfigureSilo(ISiloBuilder silo, MobiScudOptions options, IPEndPoint? primarySilo = null, InProcessStateStore? stateStore = null)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.Silo.ClusterId;
            o.ServiceId = options.Silo.ServiceId;
        });
        if (options.Storage.Kind == StorageKind.Redis)
        {
            var redis = ConfigurationOptions.Parse(options.Storage.Redis);
            silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
            ConfigureEndpoints(silo, options.Silo);
            silo.AddRedisGrainStorage(GrainNames.Storage, o =>
            {
                o.ConfigurationOptions = redis.Clone();
                o.GrainStorageSerializer = new McGrainStorageSerializer();
            });
        }
        else if (options.Storage.Kind == StorageKind.Postgres)
        {
            PostgresStorage.UseClustering(silo, options.Storage.Postgres!);
            ConfigureEndpoints(silo, options.Silo);
            PostgresStorage.AddGrainStorage(silo, GrainNames.Storage, options.Storage.Postgres!);
        }
        else
        {
            silo.UseLocalhostClustering(options.Silo.SiloPort, options.Silo.GatewayPort, primarySilo, options.Silo.ServiceId, options.Silo.ClusterId);
            var store = stateStore ?? new InProcessStateStore();
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrainNames.Storage, (sp, _) => new InProcessGrainStorage(store, sp.GetRequiredService<DeepCopier>()));
        }

        silo.Services.AddSerializer(AddContractSerializer);
    }

    private static void ConfigureEndpoints(ISiloBuilder silo, Config.SiloOptions o) =>
        silo.ConfigureEndpoints(IPAddress.Parse(o.AdvertisedAddress), o.SiloPort, o.GatewayPort, listenOnAnyHostAddress: o.ListenOnAnyAddress);

    /// <summary>The control contract travels as JSON inside Orleans messages (it carries no Orleans attributes).</summary>
    public static void AddContractSerializer(ISerializerBuilder s) =>
        s.AddJsonSerializer(isSupported: t => t.Namespace?.StartsWith("MobiScud.Control", StringComparison.Ordinal) == true, McJson.Options);

    public static void AddServices(IServiceCollection services, IConfiguration configuration, MobiScudOptions options, ServeOverrides overrides)
    {
        services.AddOptions<MobiScudOptions>().Bind(configuration.GetSection(MobiScudOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MobiScudOptions>, MobiScudOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<HostingMetrics>();
        services.AddSingleton<ResilienceMetrics>();
        services.AddSingleton(new WebhookPolicy(options.Api.Webhooks));
        services.AddServeAdapters(options, overrides);
        services.AddSingleton(sp => new EventPipeline(sp.GetRequiredService<IGrainFactory>(), options.Pipeline, sp.GetRequiredService<ILogger<EventPipeline>>()));
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<EventPipeline>());
        services.AddHostedService(sp => sp.GetRequiredService<EventPipeline>());
        services.AddSingleton(sp =>
        {
            var clock = sp.GetRequiredService<TimeProvider>();
            return new TimerScheduler(sp.GetRequiredService<TimeProvider>(), () => clock.ServiceNow());
        });
        services.AddSingleton<ITimerScheduler>(sp => sp.GetRequiredService<TimerScheduler>());
        services.AddSingleton<McConfigProvider>();
        services.AddSingleton<SiteMembership>();
        services.AddSingleton<MobilityLearner>();
        services.AddHostedService(sp => sp.GetRequiredService<MobilityLearner>());
        services.AddSingleton<SiteOccupancyWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<SiteOccupancyWatch>());
        services.AddSingleton<LinkMigrationsWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<LinkMigrationsWatch>());
        services.AddSingleton<NotificationHub>();
        services.AddHostedService(sp => sp.GetRequiredService<NotificationHub>());
        services.AddSingleton<Mec.IRanObserver>(sp => sp.GetRequiredService<NotificationHub>());
        services.AddHostedService<Mec.MecExpiry>();
        services.AddSingleton<Mec.MecSockets>();
        if (options.Backhaul.Scheduled)
        {
            // Per-link migration budgets: every migration asks the cluster's scheduler grain first.
            services.AddSingleton(sp => new BackhaulGate(
                sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<IPvmBackend>(), sp.GetRequiredService<TimeProvider>(), options,
                sp.GetRequiredService<ILogger<BackhaulGate>>()));
            services.AddHostedService(sp => sp.GetRequiredService<BackhaulGate>());
        }

        services.AddSingleton(sp =>
        {
            var clock = sp.GetRequiredService<TimeProvider>();
            return new CommandDispatcher(
                sp.GetRequiredService<IPvmBackend>(), sp.GetRequiredService<ISteeringBackend>(), sp.GetRequiredService<ITimerScheduler>(), () => clock.ServiceNow(),
                new HubPublisher(sp.GetRequiredService<NotificationHub>()), new SiteAdmission(sp.GetRequiredService<SiteMembership>()),
                sp.GetRequiredService<ILogger<CommandDispatcher>>())
            {
                Placement = new SiteMembershipAdmission(sp.GetRequiredService<SiteMembership>(), sp.GetRequiredService<McConfigProvider>()),
                Gate = sp.GetService<BackhaulGate>(),
            };
        });
        services.AddSingleton(sp => new DashboardState(() => sp.GetRequiredService<TimeProvider>().ServiceNow().TotalSeconds));
        services.AddSingleton(sp => new ServeDashboard(sp.GetRequiredService<DashboardState>(), options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IPvmBackend>()));
        services.AddHostedService(sp => sp.GetRequiredService<ServeDashboard>());

        // The dashboard sees every decision on its way to the backends.
        services.TryAddSingleton<ICommandDispatcher>(sp => sp.GetRequiredService<ServeDashboard>().Feed.Wrap(sp.GetRequiredService<CommandDispatcher>()));
        services.AddSingleton<Reconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<Reconciler>());
        services.AddSingleton<StorageWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageWatch>());
        services.AddHostedService<EventFileTap>();
        services.AddSingleton<CaptureTaps>();
        services.AddHostedService(sp => sp.GetRequiredService<CaptureTaps>());
    }

    /// <summary>Serve's notifications go to the hub (REST, MEC webhooks).</summary>
    private sealed class HubPublisher(NotificationHub hub) : INotificationPublisher
    {
        public Task PublishAsync(UeState? before, UeState? after, Notify notification) => hub.PublishAsync(before, after, notification);
    }

    /// <summary>
    /// A new PVM goes where the MC asks when that site has room, else to the nearest edge site that has (the MC's
    /// ranking), else to the core; the site grains count and admit.
    /// </summary>
    private sealed class SiteMembershipAdmission(SiteMembership sites, McConfigProvider config) : IPlacementAdmission
    {
        public async Task<SiteId?> PlaceAsync(CreatePvm create)
        {
            if (await sites.TryAdmitAsync(create.Site.Value, create.Ue.Value))
            {
                return create.Site;
            }

            var mc = config.Current;
            foreach (var site in MigrationPolicies.Ranked(mc, create.Site).Where(s => s != create.Site).OrderBy(s => s == mc.CoreSite))
            {
                if (await sites.TryAdmitAsync(site.Value, create.Ue.Value))
                {
                    return site;
                }
            }

            return null;
        }
    }

    /// <summary>A migration target must have room: the site grains count the PVMs.</summary>
    private sealed class SiteAdmission(SiteMembership sites) : IMigrationAdmission
    {
        public Task<bool> TryAdmitAsync(string site, string ue) => sites.TryAdmitAsync(site, ue);
    }
}
