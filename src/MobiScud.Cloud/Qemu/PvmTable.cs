using System.Net;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Qemu;

/// <summary>One PVM as the hypervisor holds it. Its mutable members change under the <see cref="PvmTable.Gate"/>.</summary>
internal sealed class PvmEntry(UeId ue, PvmId pvm, SiteId site)
{
    public UeId Ue { get; } = ue;

    public PvmId Pvm { get; } = pvm;

    public SiteId Site { get; set; } = site;

    public PvmState State { get; set; }

    /// <summary>The QEMU that runs the PVM (null while the first one starts).</summary>
    public QemuInstance? Active { get; set; }

    public QemuMigration? Migration { get; set; }

    /// <summary>Set once the PVM left the table: work still in flight for it must not bring it back.</summary>
    public bool Destroyed { get; set; }

    /// <summary>Data-plane address, kept for the PVM's whole life (every site it migrates to).</summary>
    public IPAddress? Address { get; init; }

    public PvmReport Status() => new(Ue, Pvm, Site, State, Migration?.Id, Migration?.Command.To, Address);
}

/// <summary>
/// The hypervisor's PVM table: PVMs by id, their sizes and their data addresses. Every member takes the
/// <see cref="Gate"/> (a <see cref="Lock"/>, so reentrant); callers take it too for a check-then-act over several
/// members or for an entry's mutable fields.
/// </summary>
internal sealed class PvmTable(PvmSpec defaultSpec, QemuDataNetwork? dataNetwork)
{
    private readonly Dictionary<PvmId, PvmEntry> _entries = [];
    private readonly Dictionary<PvmId, PvmSpec> _specs = [];
    private readonly DataAddressPool? _addresses = dataNetwork is null ? null : new DataAddressPool(dataNetwork);

    public Lock Gate { get; } = new();

    public void Define(PvmId pvm, PvmSpec spec)
    {
        lock (Gate)
        {
            _specs[pvm] = spec;
        }
    }

    public PvmSpec SpecOf(PvmId pvm)
    {
        lock (Gate)
        {
            return _specs.GetValueOrDefault(pvm, defaultSpec);
        }
    }

    public PvmEntry? Find(PvmId pvm)
    {
        lock (Gate)
        {
            return _entries.GetValueOrDefault(pvm);
        }
    }

    public IReadOnlyList<PvmReport> Statuses()
    {
        lock (Gate)
        {
            return [.. _entries.Values.Select(e => e.Status())];
        }
    }

    /// <summary>
    /// A new PVM's data address (null without a data network, with <paramref name="refusal"/> null); null with a
    /// refusal when the pool cannot give one.
    /// </summary>
    public IPAddress? AllocateAddress(PvmId pvm, out string? refusal)
    {
        refusal = null;
        lock (Gate)
        {
            return _addresses?.Allocate(pvm, SpecOf(pvm).DataAddress, out refusal);
        }
    }

    public void Add(PvmEntry entry)
    {
        lock (Gate)
        {
            _entries.Add(entry.Pvm, entry);
        }
    }

    /// <summary>An adopted PVM: its entry, its size as its QEMU runs it, and the address its manifest names.</summary>
    public void Adopt(PvmEntry entry, PvmSpec spec)
    {
        lock (Gate)
        {
            _entries.Add(entry.Pvm, entry);
            _specs[entry.Pvm] = spec with { DataAddress = entry.Address };
            if (entry.Address is not null)
            {
                _addresses?.Hold(entry.Pvm, entry.Address);
            }
        }
    }

    /// <summary>Takes a PVM out (marked <see cref="PvmEntry.Destroyed"/>) and frees its data address.</summary>
    public PvmEntry? Remove(PvmId pvm)
    {
        lock (Gate)
        {
            if (!_entries.Remove(pvm, out var entry))
            {
                return null;
            }

            entry.Destroyed = true;
            _addresses?.Release(pvm);
            return entry;
        }
    }

    /// <summary>Empties the table at shutdown: every entry marked destroyed, returned for its QEMU to be stopped or kept.</summary>
    public IReadOnlyList<PvmEntry> RemoveAll()
    {
        lock (Gate)
        {
            var all = _entries.Values.ToList();
            foreach (var e in all)
            {
                e.Destroyed = true;
            }

            _entries.Clear();
            _addresses?.Clear();
            return all;
        }
    }
}
