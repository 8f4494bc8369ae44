using System.Net;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Qemu;

/// <summary>Starts the QEMU instances of PVMs at the registered sites: ports and directory, data NIC, process.</summary>
internal sealed class QemuLauncher(QemuHypervisorOptions options, QemuSites sites)
{
    /// <summary>Process-wide, so taps of hypervisors living side by side in one process never share a name.</summary>
    private static int _tapCounter;

    /// <summary>
    /// A new instance of <paramref name="pvm"/> at <paramref name="siteId"/>, QMP connected (and its data NIC on the
    /// site's bridge when <paramref name="dataAddress"/> is given). On failure nothing is left: ports freed, directory gone.
    /// </summary>
    public async Task<QemuInstance> StartAsync(PvmId pvm, PvmSpec spec, SiteId siteId, bool incoming, string? sharedDisk, IPAddress? dataAddress, CancellationToken ct)
    {
        var (site, ports, dir) = sites.Reserve(siteId, pvm);
        QemuDataNic? nic = null;
        if (dataAddress is not null && site.DataBridge is { } bridge)
        {
            nic = new QemuDataNic(TapName(), dataAddress, QemuDataNetwork.PvmMac(dataAddress), bridge);
        }

        QemuInstance? instance = null;
        try
        {
            instance = await QemuInstance.StartAsync(
                options.QemuBinary, options.Image, siteId, dir, ports, spec, incoming, sharedDisk, ct,
                nic, nic is null ? null : options.DataNetwork!.KernelArguments(nic.Address), options.Detached, options.TimeProvider);
            if (nic is not null)
            {
                // QMP answers only after QEMU set up its netdevs, so the tap exists now.
                await DataLinks.AttachAsync(nic, ct);
            }

            return instance;
        }
        catch
        {
            if (instance is not null)
            {
                await instance.StopAsync(deleteDirectory: false);
            }

            sites.Free(siteId, ports);
            QemuInstance.DeleteDirectory(dir);
            throw;
        }
    }

    /// <summary>Unique on this host while this process lives (pid in hex), at most 15 characters.</summary>
    private static string TapName()
    {
        var pid = Environment.ProcessId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var n = (uint)Interlocked.Increment(ref _tapCounter);
        var room = QemuDataNic.MaxTapName - 3 - pid.Length;
        var seq = (n % (uint)Math.Pow(16, Math.Min(room, 7))).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        return $"ms{pid}t{seq}";
    }
}
