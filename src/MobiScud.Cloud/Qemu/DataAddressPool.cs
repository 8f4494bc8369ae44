using System.Net;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// The data-network addresses held by PVMs: each PVM keeps its address for its whole life (every site it migrates
/// to), pinned by its <see cref="PvmSpec.DataAddress"/> or the lowest free one of the pool. Not thread-safe: the
/// <see cref="PvmTable"/> that owns it calls it under its gate.
/// </summary>
internal sealed class DataAddressPool(QemuDataNetwork network)
{
    private readonly Dictionary<PvmId, IPAddress> _held = [];

    /// <summary>The PVM's address (pinned, kept from before, or the lowest free one); null with the refusal when there is none.</summary>
    public IPAddress? Allocate(PvmId pvm, IPAddress? wanted, out string? refusal)
    {
        refusal = null;
        if (_held.TryGetValue(pvm, out var kept))
        {
            return kept;
        }

        if (wanted is not null)
        {
            var holder = _held.Where(kv => kv.Value.Equals(wanted)).Select(kv => (PvmId?)kv.Key).FirstOrDefault();
            if (!network.InPool(wanted))
            {
                refusal = $"data address {wanted} pinned for {pvm} is outside the pool {network.PoolFirst}-{network.PoolLast}";
                return null;
            }

            if (holder is not null)
            {
                refusal = $"data address {wanted} pinned for {pvm} is already held by {holder}";
                return null;
            }

            _held[pvm] = wanted;
            return wanted;
        }

        var used = _held.Values.ToHashSet();
        foreach (var a in network.Pool())
        {
            if (!used.Contains(a))
            {
                _held[pvm] = a;
                return a;
            }
        }

        refusal = $"no free data address for {pvm}: pool {network.PoolFirst}-{network.PoolLast} is exhausted ({used.Count} PVMs hold one)";
        return null;
    }

    /// <summary>An adopted PVM's address, as its manifest says.</summary>
    public void Hold(PvmId pvm, IPAddress address) => _held[pvm] = address;

    public void Release(PvmId pvm) => _held.Remove(pvm);

    public void Clear() => _held.Clear();
}
