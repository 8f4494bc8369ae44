using System.Net;
using System.Net.NetworkInformation;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Tests;

/// <summary>The PVM table and its data-address pool, without QEMU.</summary>
public sealed class PvmTableTests
{
    private static readonly QemuDataNetwork _net = new(
        IPNetwork.Parse("10.77.0.0/24"), IPAddress.Parse("10.77.0.1"), PhysicalAddress.Parse("02-00-00-00-00-01"),
        IPAddress.Parse("10.77.0.10"), IPAddress.Parse("10.77.0.12"));

    [Fact]
    public void Addresses_are_the_lowest_free_ones_kept_for_life_and_freed_when_the_PVM_goes()
    {
        var table = new PvmTable(new PvmSpec(), _net);
        var a = Add(table, "a");
        var b = Add(table, "b");
        Assert.Equal(IPAddress.Parse("10.77.0.10"), a.Address);
        Assert.Equal(IPAddress.Parse("10.77.0.11"), b.Address);

        // Asked again (a PVM rebooted in place) it keeps its address.
        Assert.Equal(a.Address, table.AllocateAddress(a.Pvm, out _));

        var removed = table.Remove(a.Pvm);
        Assert.Same(a, removed);
        Assert.True(removed!.Destroyed);
        Assert.Null(table.Find(a.Pvm));
        Assert.Equal(IPAddress.Parse("10.77.0.10"), Add(table, "c").Address);
        Assert.Null(table.Remove(a.Pvm));
    }

    [Fact]
    public void A_pinned_address_outside_the_pool_or_held_by_another_PVM_and_an_exhausted_pool_are_refused_with_the_reason()
    {
        var table = new PvmTable(new PvmSpec(), _net);
        var outside = new PvmId("pvm-out");
        table.Define(outside, new PvmSpec { DataAddress = IPAddress.Parse("10.77.0.99") });
        Assert.Null(table.AllocateAddress(outside, out var why));
        Assert.Contains("outside the pool 10.77.0.10-10.77.0.12", why, StringComparison.Ordinal);

        var first = Add(table, "first");
        var clash = new PvmId("pvm-clash");
        table.Define(clash, new PvmSpec { DataAddress = first.Address });
        Assert.Null(table.AllocateAddress(clash, out why));
        Assert.Contains($"already held by {first.Pvm}", why, StringComparison.Ordinal);

        Add(table, "second");
        Add(table, "third");
        Assert.Null(table.AllocateAddress(new PvmId("pvm-fourth"), out why));
        Assert.Contains("exhausted (3 PVMs hold one)", why, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_data_network_there_is_no_address_and_no_refusal()
    {
        var table = new PvmTable(new PvmSpec(), dataNetwork: null);
        Assert.Null(table.AllocateAddress(new PvmId("pvm-x"), out var why));
        Assert.Null(why);
    }

    [Fact]
    public void An_adopted_PVM_holds_its_manifests_address_and_its_running_size()
    {
        var table = new PvmTable(new PvmSpec(), _net);
        var pvm = new PvmId("pvm-adopted");
        var entry = new PvmEntry(new UeId("ue-adopted"), pvm, new SiteId("edge-1")) { State = PvmState.Running, Address = IPAddress.Parse("10.77.0.12") };
        table.Adopt(entry, new PvmSpec(MemoryMiB: 256));
        Assert.Equal(256, table.SpecOf(pvm).MemoryMiB);
        Assert.Equal(entry.Address, table.SpecOf(pvm).DataAddress);
        Assert.Equal(IPAddress.Parse("10.77.0.10"), Add(table, "new").Address);
        var other = new PvmId("pvm-pinned");
        table.Define(other, new PvmSpec { DataAddress = entry.Address });
        Assert.Null(table.AllocateAddress(other, out var why));
        Assert.Contains("already held by pvm-adopted", why, StringComparison.Ordinal);

        var status = Assert.Single(table.Statuses(), s => s.Pvm == pvm);
        Assert.Equal(PvmState.Running, status.State);
        Assert.All(table.RemoveAll(), e => Assert.True(e.Destroyed));
        Assert.Empty(table.Statuses());
    }

    private static PvmEntry Add(PvmTable table, string name)
    {
        var pvm = new PvmId($"pvm-{name}");
        var address = table.AllocateAddress(pvm, out var why);
        Assert.Null(why);
        var entry = new PvmEntry(new UeId($"ue-{name}"), pvm, new SiteId("edge-1")) { State = PvmState.Running, Address = address };
        table.Add(entry);
        return entry;
    }
}
