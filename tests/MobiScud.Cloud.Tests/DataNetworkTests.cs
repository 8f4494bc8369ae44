using System.Globalization;
using System.Net;
using MobiScud.Cloud.Net;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Cloud.Tests;

/// <summary>
/// PVM data-plane NICs: real QEMU with a tap per instance, enslaved to Linux bridges in per-site namespaces, probed
/// with ICMP and TCP from client namespaces on those bridges, across a live migration.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class DataNetworkTests(GuestFixture guest, ITestOutputHelper output)
{
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(20);

    /// <summary>Unique per test process (parallel helpers run their own).</summary>
    private static string Prefix(string part) => $"qn{Environment.ProcessId}{part}";

    [Fact]
    public async Task PVM_answers_on_its_data_address_and_at_the_destination_site_after_live_migration()
    {
        // Site A's bridge in a namespace of its own (the tap is moved there), site B's in ours.
        using var lab = BridgeLab.Create(Prefix("m"), 2, rootBridgeSites: [1]);
        await using var cloud = new TestCloud(guest, 2, MigrationPolicy.Tuned, lab: lab);
        var (a, b) = (lab.Sites[0], lab.Sites[1]);
        var ue = new UeId("ue-data");
        var pvm = PvmId.For(ue);
        var info = await cloud.BootAsync(ue, cloud.Sites[0]);

        // The address comes from the pool and is reported everywhere the MC and the testbed look.
        var address = cloud.Started!.Address!;
        Assert.Equal(IPAddress.Parse("10.64.0.10"), address);
        Assert.Equal(address, cloud.Hypervisor.Query().Single().Address);
        var nic = info.DataNic!;
        Assert.Equal(address, nic.Address);
        Assert.Equal(SiteTopology.PvmMac(address), nic.Mac);
        Assert.Equal(a.DataBridge, nic.Attachment);
        Assert.Contains(nic.Tap, lab.BridgePorts(a));
        Assert.Contains("data=10.64.0.10/24 dev=eth1", File.ReadAllText(info.SerialLog), StringComparison.Ordinal);
        lab.AddNeighbor(address);

        // ICMP from the on-link gateway and from a host behind it: the reply to the latter needs the guest's route
        // 172.16.0.0/12 via the gateway, and, since the gateway answers no ARP, its static ARP entry.
        using (var fromGateway = IcmpProbe.OpenSource(a.ClientNamespace))
        using (var fromRemote = IcmpProbe.OpenSource(a.ClientNamespace, BridgeLab.RemoteAddress))
        {
            Assert.NotNull(await IcmpProbe.PingOnceAsync(fromGateway, address, _patience));
            Assert.NotNull(await IcmpProbe.PingOnceAsync(fromRemote, address, _patience));
        }

        // The guest's TCP services on the data address, sharing state with the management path.
        var token = await TestCloud.TokenAsync(info);
        var atA = new IPEndPoint(address, 8);
        Assert.Equal($"TOKEN {token}", await NetNamespace.RequestLineAsync(a.ClientNamespace, atA, "TOKEN", _patience));
        Assert.Equal("OK", await NetNamespace.RequestLineAsync(a.ClientNamespace, atA, "PUT via-data hello", _patience));
        Assert.Equal("VALUE hello", await TestCloud.RequestAsync(info.Ports.KeyValue, "GET via-data"));
        Assert.Equal("echo-me", await NetNamespace.RequestLineAsync(a.ClientNamespace, new IPEndPoint(address, 7), "echo-me", _patience));

        // Ping every 10 ms from both sites' clients at once while the PVM migrates from A to B.
        TimeSpan migrationStarted, migrationCompleted;
        MigrationCompleted done;
        IReadOnlyList<EchoSample> samples;
        QemuMigrationReport? report = null;
        cloud.Hypervisor.MigrationReported += r => report = r;
        await using (var probe = new IcmpProbe(address, [IcmpProbe.OpenSource(a.ClientNamespace), IcmpProbe.OpenSource(b.ClientNamespace)], TimeSpan.FromMilliseconds(10)))
        {
            probe.Start();
            await TestCloud.WaitUntilAsync(() => probe.Samples().Count(s => s.AnsweredAt(0)) >= 20, "site A answers the probe");
            migrationStarted = probe.Elapsed;
            var migration = new MigrationId(ue, 1);
            await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Handover));
            done = await cloud.WaitForAsync<MigrationCompleted>(c => c.Migration == migration);
            migrationCompleted = probe.Elapsed;
            await TestCloud.WaitUntilAsync(() => probe.Samples().Count(s => s.AnsweredAt(1) && s.SentAt > migrationCompleted) >= 20, "site B answers the probe after the migration");
            await probe.StopAsync(TimeSpan.FromMilliseconds(500));
            samples = probe.Samples();
        }

        // At B: same address, MAC and guest (boot token, memory and disk state), on a new tap on B's bridge; A's tap is gone.
        var after = cloud.Hypervisor.Describe(pvm)!;
        Assert.Equal(cloud.Sites[1], after.Status.Site);
        Assert.Equal(address, after.DataNic!.Address);
        Assert.Equal(nic.Mac, after.DataNic.Mac);
        Assert.NotEqual(nic.Tap, after.DataNic.Tap);
        Assert.Equal(b.DataBridge, after.DataNic.Attachment);
        Assert.Contains(after.DataNic.Tap, lab.BridgePorts(b));
        await TestCloud.WaitUntilAsync(() => lab.BridgePorts(a).SequenceEqual([a.ClientPort]), "the source's tap has left site A's bridge");
        Assert.Equal(address, cloud.Hypervisor.Query().Single().Address);
        var atB = new IPEndPoint(address, 8);
        Assert.Equal($"TOKEN {token}", await NetNamespace.RequestLineAsync(b.ClientNamespace, atB, "TOKEN", _patience));
        Assert.Equal("VALUE hello", await NetNamespace.RequestLineAsync(b.ClientNamespace, atB, "GET via-data", _patience));
        Assert.Equal("VALUE hello", await NetNamespace.RequestLineAsync(b.ClientNamespace, atB, "DGET via-data", _patience));
        using (var fromRemote = IcmpProbe.OpenSource(b.ClientNamespace, BridgeLab.RemoteAddress))
        {
            Assert.NotNull(await IcmpProbe.PingOnceAsync(fromRemote, address, _patience));
        }

        // Site A stops answering once the source is stopped; the two sites never both claim a tick after the switch.
        Assert.DoesNotContain(samples, s => s.AnsweredAt(0) && s.SentAt > migrationCompleted);
        Assert.Contains(samples, s => s.AnsweredAt(1) && s.SentAt > migrationCompleted);
        TestCloud.AssertCleanSerial(File.ReadAllText(after.SerialLog));

        await TestCloud.WaitUntilAsync(() => report is not null, "QEMU's migration report");
        Assert.True(report!.QemuTotalTime > TimeSpan.Zero, "QEMU's report has no total-time (read before QEMU filled it in?)");
        var during = samples.Where(s => s.SentAt >= migrationStarted).ToList();
        var lost = during.Count(s => s.RepliedAt is null);

        // As the testbed steers: to A until MigrationCompleted, to B from then on.
        var steered = during.Select(s => s.SentAt < migrationCompleted ? s.AnsweredAt(0) : s.AnsweredAt(1)).ToList();
        var slowest = during.Where(s => s.Rtt is not null).Max(s => s.Rtt!.Value);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pings every 10 ms from the site-A and site-B clients, {during.Count} ticks from StartMigration to the end: {lost} answered by neither " +
            $"(longest run {LongestRun(during.Select(s => s.RepliedAt is null))}); steered to A until MigrationCompleted then to B: " +
            $"{steered.Count(x => !x)} lost (longest run {LongestRun(steered.Select(x => !x))}); slowest reply {slowest.TotalMilliseconds:F0} ms; " +
            $"migration wall {done.Stats.TotalTime.TotalMilliseconds:F0} ms, QEMU downtime {done.Stats.Downtime.TotalMilliseconds:F0} ms, " +
            $"memory {report!.QemuTotalTime.TotalMilliseconds:F0} ms, {done.Stats.BytesSent / 1048576.0:F1} MiB in {done.Stats.Rounds} rounds"));
    }

    [Fact]
    public async Task A_destination_whose_bridge_is_gone_fails_the_migration_and_the_source_keeps_answering_on_its_data_address()
    {
        // Here the data NIC takes the guest's default route: management (user networking, on-link peer) must still work.
        using var lab = BridgeLab.Create(Prefix("f"), 2, BridgeLab.DefaultNetwork with { Routes = [IPNetwork.Parse("0.0.0.0/0")] });
        await using var cloud = new TestCloud(guest, 2, MigrationPolicy.Tuned, lab: lab);
        var (a, b) = (lab.Sites[0], lab.Sites[1]);
        var ue = new UeId("ue-nobridge");
        var pvm = PvmId.For(ue);
        var info = await cloud.BootAsync(ue, cloud.Sites[0]);
        var address = info.DataNic!.Address;
        lab.AddNeighbor(address);
        var token = await TestCloud.TokenAsync(info);
        using (var fromRemote = IcmpProbe.OpenSource(a.ClientNamespace, BridgeLab.RemoteAddress))
        {
            Assert.NotNull(await IcmpProbe.PingOnceAsync(fromRemote, address, _patience));
        }

        // Site B's namespace (and its bridge) disappears after the site was added: its taps cannot be plugged in.
        NetNamespace.Ip(null, "netns", "del", b.Namespace!);
        var migration = new MigrationId(ue, 1);
        await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Handover));
        var failed = await cloud.WaitForAsync<MigrationFailed>(f => f.Migration == migration);
        Assert.Contains($"netns {b.Namespace}", failed.Reason, StringComparison.Ordinal);

        var now = cloud.Hypervisor.Describe(pvm)!;
        Assert.Equal(cloud.Sites[0], now.Status.Site);
        Assert.Equal(PvmState.Running, now.Status.State);
        Assert.Null(now.DestinationProcessId);
        using (var probe = IcmpProbe.OpenSource(a.ClientNamespace))
        {
            Assert.NotNull(await IcmpProbe.PingOnceAsync(probe, address, _patience));
        }

        Assert.Equal(token, await TestCloud.TokenAsync(now));

        var kv = new IPEndPoint(address, 8);
        Assert.Equal("OK", await NetNamespace.RequestLineAsync(a.ClientNamespace, kv, "PUT still ok", _patience));
        Assert.Equal("VALUE ok", await NetNamespace.RequestLineAsync(a.ClientNamespace, kv, "GET still", _patience));

        // A PVM created at B fails to boot with the same reason, and leaves no QEMU or tap behind.
        var other = new UeId("ue-at-b");
        await cloud.Hypervisor.ExecuteAsync(new CreatePvm(other, PvmId.For(other), cloud.Sites[1]));
        var bootFailed = await cloud.WaitForAsync<PvmFailed>(f => f.Ue == other);
        Assert.Contains("boot failed", bootFailed.Reason, StringComparison.Ordinal);
        Assert.Null(cloud.Hypervisor.Describe(PvmId.For(other)));
        Assert.DoesNotContain(NetNamespace.Ip(null, "-o", "link", "show"), $"ms{Environment.ProcessId:x}t", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_addresses_come_from_the_pool_stay_with_their_PVM_and_are_refused_clearly_when_exhausted()
    {
        using var lab = BridgeLab.Create(Prefix("p"), 1, BridgeLab.DefaultNetwork with
        {
            PoolFirst = IPAddress.Parse("10.64.0.10"),
            PoolLast = IPAddress.Parse("10.64.0.11"),
        });
        var root = Directory.CreateTempSubdirectory($"mobiscud-datapool-{Environment.ProcessId}-").FullName;

        // No QEMU needed: /bin/false "boots" and fails at once, and a failed PVM keeps its address until destroyed.
        await using var hv = new QemuHypervisor(new QemuHypervisorOptions
        {
            Image = new GuestImage("/nonexistent/vmlinuz", "/nonexistent/initrd.gz", "none", "/nonexistent"),
            QemuBinary = "/bin/false",
            DataNetwork = lab.Network,
        });
        var site = new SiteId("site-a");
        try
        {
            hv.AddSite(new QemuSite(site, Path.Combine(root, "a"), TestPorts.RandomBase(), 10) { DataBridge = lab.Sites[0].DataBridge });
            async Task<PvmFailed> Create(string name)
            {
                var ue = new UeId(name);
                await hv.ExecuteAsync(new CreatePvm(ue, PvmId.For(ue), site));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (true)
                {
                    if (await hv.Events.ReadAsync(cts.Token) is PvmFailed f && f.Ue == ue)
                    {
                        return f;
                    }
                }
            }

            IPAddress? AddressOf(string name) => hv.Query().SingleOrDefault(s => s.Ue == new UeId(name))?.Address;

            Assert.Contains("boot failed", (await Create("one")).Reason, StringComparison.Ordinal);
            Assert.Equal(IPAddress.Parse("10.64.0.10"), AddressOf("one"));
            hv.DefinePvm(PvmId.For(new UeId("pinned")), new PvmSpec { DataAddress = IPAddress.Parse("10.64.0.11") });
            await Create("pinned");
            Assert.Equal(IPAddress.Parse("10.64.0.11"), AddressOf("pinned"));

            var exhausted = await Create("two");
            Assert.Contains("no free data address", exhausted.Reason, StringComparison.Ordinal);
            Assert.Contains("10.64.0.10-10.64.0.11 is exhausted", exhausted.Reason, StringComparison.Ordinal);
            Assert.Null(AddressOf("two"));

            var ueOne = new UeId("one");
            await hv.ExecuteAsync(new DestroyPvm(ueOne, PvmId.For(ueOne), site));
            await Create("two");
            Assert.Equal(IPAddress.Parse("10.64.0.10"), AddressOf("two"));

            hv.DefinePvm(PvmId.For(new UeId("outside")), new PvmSpec { DataAddress = IPAddress.Parse("10.64.0.99") });
            Assert.Contains("10.64.0.99 pinned for", (await Create("outside")).Reason, StringComparison.Ordinal);
        }
        finally
        {
            await hv.DisposeAsync();
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task Sites_with_a_missing_or_wrong_data_bridge_are_refused_when_added()
    {
        using var lab = BridgeLab.Create(Prefix("v"), 1);
        var root = Directory.CreateTempSubdirectory($"mobiscud-databridge-{Environment.ProcessId}-").FullName;
        var image = new GuestImage("/nonexistent/vmlinuz", "/nonexistent/initrd.gz", "none", "/nonexistent");
        try
        {
            await using var hv = new QemuHypervisor(new QemuHypervisorOptions { Image = image, DataNetwork = lab.Network });
            QemuSite Site(string id, QemuDataBridge? bridge) => new(new SiteId(id), Path.Combine(root, id), 20000, 10) { DataBridge = bridge };
            var ns = lab.Sites[0].Namespace;

            Assert.Contains("names no DataBridge", Assert.Throws<ArgumentException>(() => hv.AddSite(Site("s1", null))).Message, StringComparison.Ordinal);
            Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => hv.AddSite(Site("s2", new QemuDataBridge("nosuchbr", ns)))).Message, StringComparison.Ordinal);
            Assert.Contains("is not a Linux bridge", Assert.Throws<ArgumentException>(() => hv.AddSite(Site("s3", new QemuDataBridge("p0", ns)))).Message, StringComparison.Ordinal);
            Assert.Contains($"namespace '{ns}x'", Assert.Throws<ArgumentException>(() => hv.AddSite(Site("s4", new QemuDataBridge("br0", ns + "x")))).Message, StringComparison.Ordinal);
            hv.AddSite(Site("s5", lab.Sites[0].DataBridge));

            await using var plain = new QemuHypervisor(new QemuHypervisorOptions { Image = image });
            Assert.Contains("DataNetwork is not set", Assert.Throws<ArgumentException>(() => plain.AddSite(Site("s6", lab.Sites[0].DataBridge))).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void Bad_data_networks_are_refused_naming_the_field()
    {
        var good = BridgeLab.DefaultNetwork;
        string Error(QemuDataNetwork n) => Assert.Throws<ArgumentException>(() => n.Validate()).Message;
        Assert.Contains("gateway 10.64.0.20 is inside the PVM pool", Error(good with { Gateway = IPAddress.Parse("10.64.0.20") }), StringComparison.Ordinal);
        Assert.Contains("pool last address 10.64.1.5 is not inside the subnet", Error(good with { PoolLast = IPAddress.Parse("10.64.1.5") }), StringComparison.Ordinal);
        Assert.Contains("is the subnet's network or broadcast address", Error(good with { PoolLast = IPAddress.Parse("10.64.0.255") }), StringComparison.Ordinal);
        Assert.Contains("is empty", Error(good with { PoolFirst = IPAddress.Parse("10.64.0.30"), PoolLast = IPAddress.Parse("10.64.0.20") }), StringComparison.Ordinal);
        Assert.Contains("not IPv4", Error(good with { Routes = [IPNetwork.Parse("fd00::/8")] }), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new QemuHypervisor(new QemuHypervisorOptions
        {
            Image = new GuestImage("/x", "/y", "none", "/"),
            DataNetwork = good with { GatewayMac = System.Net.NetworkInformation.PhysicalAddress.None },
        }));
        Assert.Equal(241, good.Pool().Count());
    }

    [Fact]
    public void PVM_MAC_convention_matches_the_SDN_layer_and_the_destination_gets_the_same_NIC_layout()
    {
        foreach (var s in new[] { "10.64.0.10", "192.168.255.1", "1.2.3.4", "172.31.0.254" })
        {
            var ip = IPAddress.Parse(s);
            Assert.Equal(SiteTopology.PvmMac(ip), QemuDataNetwork.PvmMac(ip));
        }

        Assert.Equal("02:00:0a:40:00:0a", QemuDataNetwork.Colon(QemuDataNetwork.PvmMac(IPAddress.Parse("10.64.0.10"))));

        var image = new GuestImage("/k", "/i", "v", "/");
        var address = IPAddress.Parse("10.64.0.10");
        var net = BridgeLab.DefaultNetwork;
        var kernel = net.KernelArguments(address);
        Assert.Equal("mobiscud.ip=10.64.0.10/24 mobiscud.gw=10.64.0.1 mobiscud.gwmac=02:42:0a:40:00:01 mobiscud.route=172.16.0.0/12", kernel);
        var source = QemuInstance.BuildArguments(image, "/d", "/d/disk.raw", QemuPorts.From(100), new PvmSpec(), false,
            new QemuDataNic("mst1", address, QemuDataNetwork.PvmMac(address), new QemuDataBridge("br0", "a")), kernel);
        var destination = QemuInstance.BuildArguments(image, "/d", "/d/disk.raw", QemuPorts.From(100), new PvmSpec(), true,
            new QemuDataNic("mst2", address, QemuDataNetwork.PvmMac(address), new QemuDataBridge("br0", "b")), kernel);
        Assert.Contains("tap,id=n1,ifname=mst1,script=no,downscript=no", source);
        Assert.Contains("virtio-net-pci,netdev=n1,mac=02:00:0a:40:00:0a,romfile=", source);
        Assert.Contains(source, a => a.StartsWith("console=ttyS0", StringComparison.Ordinal) && a.EndsWith(kernel, StringComparison.Ordinal));

        // Only the tap's name (and -incoming) differ: QEMU needs identical devices on both ends.
        Assert.Equal(source.Select(a => a.Replace("mst1", "mst2", StringComparison.Ordinal)), destination.Take(source.Count));
        Assert.Equal(["-incoming", "defer"], destination.Skip(source.Count));

        // The management NIC stays first (eth0), the data NIC comes after the disk (eth1).
        var devices = source.Where(a => a.StartsWith("virtio-", StringComparison.Ordinal)).ToList();
        Assert.StartsWith("virtio-net-pci,netdev=n0", devices[0], StringComparison.Ordinal);
        Assert.StartsWith("virtio-net-pci,netdev=n1", devices[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Echo_reply_parser_rejects_what_is_not_our_reply()
    {
        var from = IPAddress.Parse("10.64.0.10");
        var reply = new byte[20 + 32];
        reply[0] = 0x45;
        reply[9] = 1;
        from.GetAddressBytes().CopyTo(reply, 12);
        IcmpProbe.BuildRequest(reply.AsSpan(20), 0x1234, 7);
        reply[20] = 0; // echo reply
        Assert.True(IcmpProbe.TryParseReply(reply, from, 0x1234, out var seq));
        Assert.Equal(7, seq);
        Assert.False(IcmpProbe.TryParseReply(reply, from, 0x1235, out _));
        Assert.False(IcmpProbe.TryParseReply(reply, IPAddress.Parse("10.64.0.11"), 0x1234, out _));
        Assert.False(IcmpProbe.TryParseReply(reply.AsSpan(0, 27), from, 0x1234, out _));
        reply[0] = 0x4f; // IHL 60 bytes: longer than the datagram
        Assert.False(IcmpProbe.TryParseReply(reply, from, 0x1234, out _));
        reply[0] = 0x45;
        reply[20] = 8; // a request, not a reply
        Assert.False(IcmpProbe.TryParseReply(reply, from, 0x1234, out _));
    }

    private static int LongestRun(IEnumerable<bool> lost)
    {
        int best = 0, run = 0;
        foreach (var l in lost)
        {
            run = l ? run + 1 : 0;
            best = Math.Max(best, run);
        }

        return best;
    }
}
