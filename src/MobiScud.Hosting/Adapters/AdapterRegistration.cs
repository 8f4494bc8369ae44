using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>Picks the hypervisor and switch adapters from configuration (or the caller's overrides).</summary>
internal static class AdapterRegistration
{
    /// <summary>
    /// Registers the <see cref="IPvmBackend"/> and the <see cref="ISteeringBackend"/>. Adapters that need starting (the QEMU
    /// backend, the OpenFlow listener) are hosted services registered here, ahead of the restart reconciliation that reads
    /// their inventories. An adapter the caller supplies is started but not disposed with the service: it may outlive it.
    /// </summary>
    public static void AddServeAdapters(this IServiceCollection services, MobiScudOptions options, ServeOverrides overrides)
    {
        if (overrides.Hypervisor is { } hypervisor)
        {
            services.AddSingleton(hypervisor);
        }
        else
        {
            switch (options.Hypervisor.Kind)
            {
                case HypervisorKind.Replay:
                    services.AddSingleton<IPvmBackend>(sp =>
                    {
                        var clock = sp.GetRequiredService<TimeProvider>();
                        return new ImmediatePvmModel(() => clock.ServiceNow());
                    });
                    break;
                case HypervisorKind.Qemu:
                    services.AddSingleton(sp => new QemuHypervisorAdapter(
                        options.Hypervisor.Qemu, [.. options.Sites.Select(s => s.Name), options.CoreSite],
                        sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<QemuHypervisorAdapter>>()));
                    services.AddSingleton<IPvmBackend>(sp => sp.GetRequiredService<QemuHypervisorAdapter>());
                    break;
                default:
                    services.AddSingleton<IPvmBackend>(sp => new SimulatedHypervisor(options.Hypervisor, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SimulatedHypervisor>>()));
                    break;
            }
        }

        if (overrides.Switch is { } sw)
        {
            services.AddSingleton(sw);
        }
        else if (options.Sdn.Kind == SdnKind.OpenFlow)
        {
            services.AddSingleton(sp =>
            {
                var grains = sp.GetRequiredService<IGrainFactory>();
                return new OpenFlowSteeringAdapter(options.Sdn, async _ => await UePartitions.AllAsync(grains), sp.GetRequiredService<ILogger<OpenFlowSteeringAdapter>>(),
                    () => sp.GetRequiredService<Reconciler>().Completed, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<HostingMetrics>());
            });
            services.AddSingleton<ISteeringBackend>(sp => sp.GetRequiredService<OpenFlowSteeringAdapter>());
        }
        else
        {
            services.AddSingleton<ISteeringBackend>(new InMemorySteering());
        }

        // One hosted service for both: AddHostedService keeps a single registration per implementation type.
        services.AddHostedService(sp => new StartAdapters([sp.GetRequiredService<IPvmBackend>(), sp.GetRequiredService<ISteeringBackend>()]));
    }

    /// <summary>Starts the adapters that are hosted services, in order; a no-op for the others.</summary>
    private sealed class StartAdapters(object[] adapters) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var h in adapters.OfType<IHostedService>())
            {
                await h.StartAsync(cancellationToken);
            }
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            foreach (var h in adapters.OfType<IHostedService>().Reverse())
            {
                await h.StopAsync(cancellationToken);
            }
        }
    }
}
