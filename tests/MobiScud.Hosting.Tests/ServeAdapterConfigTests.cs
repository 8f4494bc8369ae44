using MobiScud.Hosting.Config;
using MobiScud.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

public sealed class ServeAdapterConfigTests
{
    [Fact]
    public void The_qemu_and_openflow_example_loads_and_validates()
    {
        var path = Path.Combine(TestData.RepoRoot, "examples", "serve-qemu-openflow.yaml");
        var options = ServeHost.LoadOptions(new ConfigurationBuilder().AddYamlFile(path, optional: false).Build());
        Assert.Equal((HypervisorKind.Qemu, SdnKind.OpenFlow), (options.Hypervisor.Kind, options.Sdn.Kind));
        var topology = options.Sdn.ToTopology();
        Assert.Equal([0xa1UL, 0xb1UL], topology.Sites.Select(s => s.DatapathId).Order());
        Assert.Equal(5u, topology[new("site-a")].InterSitePorts[new("site-b")]);
        Assert.Equal(30, (int)options.Hypervisor.Qemu.ToPolicy().DowntimeLimit!.Value.TotalMilliseconds);
        Assert.True(options.Hypervisor.Qemu.KeepPvmsOnStop);
    }

    [Fact]
    public void Bad_qemu_and_openflow_settings_are_each_named_by_their_key()
    {
        var bad = Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Qemu",
            ["MobiScud:Hypervisor:Qemu:MemoryMiB"] = "64",
            ["MobiScud:Hypervisor:Qemu:Policy"] = "fast",
            ["MobiScud:Hypervisor:Qemu:Kernel"] = "/nonexistent/vmlinuz",
            ["MobiScud:Hypervisor:Qemu:PortsPerSite"] = "4",
            ["MobiScud:Hypervisor:Qemu:Sites:site-z:DataBridge"] = "br0",

            // Relative: the next start (from another working directory) would not find the PVMs to adopt.
            ["MobiScud:Hypervisor:Qemu:RunDirectory"] = "run/qemu",
            ["MobiScud:Sdn:Kind"] = "OpenFlow",
            ["MobiScud:Sdn:Tcp"] = "not-an-endpoint",
            ["MobiScud:Sdn:Switches:0:Site"] = "site-a",
            ["MobiScud:Sdn:Switches:0:DatapathId"] = "zz",
            ["MobiScud:Sdn:Switches:0:Endpoint"] = "10.77.0.254",
            ["MobiScud:Sdn:Switches:0:EndpointMac"] = "nope",
            ["MobiScud:Sdn:Switches:0:TunnelPort"] = "0",
            ["MobiScud:Sdn:Switches:0:PvmPort"] = "3",
            ["MobiScud:Sdn:Switches:0:Sgws:0:Address"] = "10.77.0.2",
            ["MobiScud:Sdn:Switches:0:Sgws:0:Mac"] = "02:00:00:00:00:02",
            ["MobiScud:Sdn:Switches:0:Sgws:0:Port"] = "2",
            ["MobiScud:Sdn:Switches:0:Enbs:0:Address"] = "10.77.1.300",
            ["MobiScud:Sdn:Switches:0:Enbs:0:Mac"] = "02:00:00:00:00:01",
            ["MobiScud:Sdn:Switches:0:Enbs:0:Port"] = "1",
        });
        var e = Assert.Throws<OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = bad }));
        foreach (var key in new[]
                 {
                     "MobiScud:Hypervisor:Qemu:MemoryMiB", "MobiScud:Hypervisor:Qemu:Policy", "MobiScud:Hypervisor:Qemu:Kernel and MobiScud:Hypervisor:Qemu:Initrd",
                     "MobiScud:Hypervisor:Qemu:Kernel file '/nonexistent/vmlinuz'", "MobiScud:Hypervisor:Qemu:PortsPerSite", "MobiScud:Hypervisor:Qemu:Sites:site-z",
                     "MobiScud:Sdn:Tcp 'not-an-endpoint'", "MobiScud:Sdn:Switches:0:DatapathId 'zz'", "MobiScud:Sdn:Switches:0:EndpointMac 'nope'",
                     "MobiScud:Sdn:Switches:0:TunnelPort", "MobiScud:Sdn:Switches:0:Enbs:0:Address '10.77.1.300'",
                     "MobiScud:Hypervisor:Qemu:RunDirectory 'run/qemu' must be an absolute path when MobiScud:Hypervisor:Qemu:KeepPvmsOnStop is true",
                 })
        {
            Assert.Contains(e.Failures, f => f.Contains(key, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(e.Failures, f => f.Contains("Sgws", StringComparison.Ordinal));

        // Well-formed switches, but site-b and site-c have none, and one names a link to a site without a switch.
        var partial = Settings(new()
        {
            ["MobiScud:Sdn:Kind"] = "OpenFlow",
            ["MobiScud:Sdn:Switches:0:Site"] = "site-a",
            ["MobiScud:Sdn:Switches:0:DatapathId"] = "0xa1",
            ["MobiScud:Sdn:Switches:0:Endpoint"] = "10.77.0.254",
            ["MobiScud:Sdn:Switches:0:EndpointMac"] = "02:00:00:00:00:fe",
            ["MobiScud:Sdn:Switches:0:TunnelPort"] = "10",
            ["MobiScud:Sdn:Switches:0:PvmPort"] = "3",
            ["MobiScud:Sdn:Switches:0:Sgws:0:Address"] = "10.77.0.2",
            ["MobiScud:Sdn:Switches:0:Sgws:0:Mac"] = "02:00:00:00:00:02",
            ["MobiScud:Sdn:Switches:0:Sgws:0:Port"] = "2",
            ["MobiScud:Sdn:Switches:0:InterSitePorts:site-q"] = "5",
        });
        e = Assert.Throws<OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = partial }));
        Assert.Contains(e.Failures, f => f.Contains("MobiScud:Sdn:Switches has no switch for site 'site-b'", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("MobiScud:Sdn:Switches has no switch for site 'site-c'", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("InterSitePorts names site 'site-q'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_openflow_port_already_taken_fails_the_start_naming_the_key()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var settings = Settings(new()
        {
            ["MobiScud:Sdn:Kind"] = "OpenFlow",
            ["MobiScud:Sdn:Tcp"] = $"127.0.0.1:{port}",
            ["MobiScud:Sdn:TopologyFile"] = TopologyFile(),
        });
        var app = ServeHost.Build([], null, new ServeOverrides { Settings = settings });
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());
            Assert.Contains($"MobiScud:Sdn:Tcp 127.0.0.1:{port}: cannot listen there", e.Message);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>A three-site topology in the SDN part's JSON format (the `Sdn:TopologyFile` alternative to `Sdn:Switches`).</summary>
    private static string TopologyFile()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mobiscud-sdn-topology-").FullName, "topology.json");
        var sites = new[] { ("site-a", "0xa1"), ("site-b", "0xb1"), ("site-c", "0xc1") }.Select(s =>
            $$"""{ "site": "{{s.Item1}}", "datapathId": "{{s.Item2}}", "endpoint": "10.77.0.254", "endpointMac": "02:00:00:00:00:fe", "tunnelPort": 10, "pvmPort": 3, "sgws": [ { "address": "10.77.0.2", "mac": "02:00:00:00:00:02", "port": 2 } ] }""");
        File.WriteAllText(path, $$"""{ "sites": [ {{string.Join(", ", sites)}} ] }""");
        return path;
    }
}
