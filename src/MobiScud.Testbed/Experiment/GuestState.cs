using System.Net;
using MobiScud.Cloud.Net;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;

namespace MobiScud.Testbed.Experiment;

/// <summary>
/// Proof that the PVM which ends the run is the one that started it: its boot token (written once at boot) and a
/// value the experiment stores in its memory and on its disk before the first handover, read back at the end over
/// the guest's management port, wherever the PVM then runs.
/// </summary>
internal sealed class GuestState
{
    private readonly PvmId _pvm;
    private readonly string _token;
    private readonly string _value;

    private GuestState(PvmId pvm, string token, string value)
    {
        _pvm = pvm;
        _token = token;
        _value = value;
    }

    public static async Task<GuestState> CaptureAsync(QemuHypervisor qemu, PvmId pvm, string marker, CancellationToken ct)
    {
        var port = Port(qemu, pvm);
        var token = (await RequestAsync(port, "TOKEN", ct)).Split(' ').ElementAtOrDefault(1)
            ?? throw new InvalidOperationException($"PVM {pvm} answered TOKEN without a token");
        var value = $"testbed-{marker}";
        var put = await RequestAsync(port, $"PUT profile {value}", ct);
        return put == "OK" ? new GuestState(pvm, token, value) : throw new InvalidOperationException($"PVM {pvm} refused PUT: {put}");
    }

    /// <summary>Reads token, memory and disk copies back; returns whether all three are unchanged, and what was read.</summary>
    public async Task<(bool Preserved, string Text)> VerifyAsync(QemuHypervisor qemu, CancellationToken ct)
    {
        var port = Port(qemu, _pvm);
        var token = (await RequestAsync(port, "TOKEN", ct)).Split(' ').ElementAtOrDefault(1);
        var memory = await RequestAsync(port, "GET profile", ct);
        var disk = await RequestAsync(port, "DGET profile", ct);
        var site = qemu.Describe(_pvm)?.Status.Site.Value ?? "?";
        var ok = token == _token && memory == $"VALUE {_value}" && disk == $"VALUE {_value}";
        return (ok, $"{(ok ? "preserved" : "CHANGED")}: boot token {_token} -> {token}, memory '{memory}', disk '{disk}' (now at site {site})");
    }

    private static int Port(QemuHypervisor qemu, PvmId pvm) =>
        qemu.Describe(pvm)?.Ports.KeyValue ?? throw new InvalidOperationException($"the hypervisor does not know PVM {pvm}");

    private static async Task<string> RequestAsync(int port, string line, CancellationToken ct) =>
        (await NetNamespace.RequestLineAsync(null, new IPEndPoint(IPAddress.Loopback, port), line, TimeSpan.FromSeconds(20), ct))?.Trim() ?? string.Empty;
}
