using System.Net;
using Microsoft.Extensions.Logging;
using MobiScud.Cloud;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Experiment;

/// <summary>
/// The baseline the paper compares with: a PVM in the core data centre behind the P-GW (10.201.0.10), reached by
/// the UE through the whole EPC path. It is started by the experiment, not by the MC, and never moves.
/// </summary>
internal sealed class CorePvm : IAsyncDisposable
{
    private static readonly SiteId _site = new("core");
    private readonly QemuHypervisor? _qemu;

    private CorePvm(QemuHypervisor? qemu) => _qemu = qemu;

    public static async Task<CorePvm> StartAsync(Scenario scenario, TestbedNetwork net, GuestImage? image, CancellationToken ct, ILogger<CorePvm> logger)
    {
        var plan = net.Plan;
        if (scenario.Pvm == PvmBackend.Netns)
        {
            var ns = $"{plan.Prefix}-corepvm";
            net.RecordNamespace(ns);
            Shell.Run("ip", "netns", "add", ns);
            Shell.Run("ip", "-n", plan.SgwNs, "link", "add", "dcpvm", "type", "veth", "peer", "name", "eth0", "netns", ns);
            Shell.Run("ip", "-n", plan.SgwNs, "link", "set", "dcpvm", "master", TestbedPlan.CoreDcBridge, "up");
            Shell.Run("ip", "-n", ns, "addr", "add", $"{TestbedPlan.CorePvmAddress}/24", "dev", "eth0");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "up");
            Shell.Run("ip", "-n", ns, "route", "add", TestbedPlan.UePool, "via", TestbedPlan.CoreDcGateway.ToString());
            return new CorePvm(null);
        }

        var qemu = new QemuHypervisor(new QemuHypervisorOptions
        {
            Image = image ?? throw new ArgumentNullException(nameof(image)),
            DefaultSpec = new PvmSpec(scenario.PvmMemoryMiB),
            Logger = logger,
            DataNetwork = new QemuDataNetwork(
                IPNetwork.Parse("10.201.0.0/24"), TestbedPlan.CoreDcGateway, TestbedPlan.Mac(TestbedPlan.CoreDcGatewayMac), TestbedPlan.CorePvmAddress, TestbedPlan.CorePvmAddress)
            {
                Routes = [IPNetwork.Parse(TestbedPlan.UePool)],
            },
        });
        try
        {
            qemu.AddSite(new QemuSite(_site, Path.Combine(plan.RunDirHint!, "pvm-core"), TestbedExperiment.FreePortBase(), 100)
            {
                DataBridge = new QemuDataBridge(TestbedPlan.CoreDcBridge, plan.SgwNs),
            });
            await qemu.ExecuteAsync(new CreatePvm(new UeId("core"), new PvmId("pvm-core"), _site), ct);
            await foreach (var e in qemu.Events.ReadAllAsync(ct))
            {
                switch (e)
                {
                    case PvmStarted:
                        return new CorePvm(qemu);
                    case PvmFailed f:
                        throw new TestbedException($"the core-anchored PVM did not start: {f.Reason}");
                }
            }

            throw new TestbedException("the core-anchored PVM's hypervisor stopped before it started");
        }
        catch
        {
            await qemu.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_qemu is not null)
        {
            await _qemu.DisposeAsync();
        }
    }
}
