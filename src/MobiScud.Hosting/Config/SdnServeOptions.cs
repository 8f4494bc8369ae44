using System.Globalization;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;

namespace MobiScud.Hosting.Config;

public enum SdnKind
{
    /// <summary>Per-UE steering kept in memory (simulation, replay, benchmarks).</summary>
    InMemory,

    /// <summary>An OpenFlow 1.3 listener that Open vSwitch bridges connect to; steering is programmed onto them.</summary>
    OpenFlow,
}

/// <summary>`MobiScud:Sdn`: how steering reaches the edge switches.</summary>
public sealed class SdnServeOptions
{
    public SdnKind Kind { get; set; } = SdnKind.InMemory;

    /// <summary>TCP endpoint the controller listens on (OVS target `tcp:ADDR:PORT`); empty: no TCP listener. Port 0: any free port.</summary>
    public string? Tcp { get; set; } = "127.0.0.1:6653";

    /// <summary>Unix socket the controller listens on (OVS target `unix:PATH`), e.g. for an OVS in another network namespace.</summary>
    public string? UnixSocket { get; set; }

    /// <summary>The site wiring as a JSON file in the SDN part's format (docs/sdn.md), instead of <see cref="Switches"/>.</summary>
    public string? TopologyFile { get; set; }

    /// <summary>One edge switch per site: its datapath id and port numbers.</summary>
    public List<SwitchOptions> Switches { get; set; } = [];

    /// <summary>After each barrier, flush the co-located ovs-vswitchd's datapath cache (needs the switch's OvsRunDirectory).</summary>
    public DatapathSyncMode DatapathSync { get; set; } = DatapathSyncMode.None;

    /// <summary>How long a switch may take to answer a request or a batch's barrier before the steering counts as not confirmed.</summary>
    public TimeSpan SwitchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Steering for a switch that is not connected is reported failed to the MC (which retries it) if the switch has not connected by then.</summary>
    public TimeSpan ConnectDeadline { get; set; } = TimeSpan.FromSeconds(10);

    public IPEndPoint? TcpEndPoint() => string.IsNullOrWhiteSpace(Tcp) ? null : IPEndPoint.Parse(Tcp);

    /// <summary>The topology from <see cref="TopologyFile"/> or <see cref="Switches"/>; throws naming the key at fault.</summary>
    public SdnTopology ToTopology()
    {
        if (!string.IsNullOrWhiteSpace(TopologyFile))
        {
            return SdnTopologyConfig.Load(TopologyFile);
        }

        var p = $"{MobiScudOptions.Section}:Sdn:Switches";
        return new SdnTopology(Switches.Select((s, i) => s.ToTopology($"{p}:{i}")));
    }

    public IEnumerable<string> Validate(string p, IReadOnlyList<string> edgeSites, string coreSite)
    {
        if (Kind != SdnKind.OpenFlow)
        {
            yield break;
        }

        if (SwitchTimeout <= TimeSpan.Zero)
        {
            yield return $"{p}:SwitchTimeout must be positive (was {SwitchTimeout})";
        }

        if (ConnectDeadline <= TimeSpan.Zero)
        {
            yield return $"{p}:ConnectDeadline must be positive (was {ConnectDeadline})";
        }

        if (string.IsNullOrWhiteSpace(Tcp) && string.IsNullOrWhiteSpace(UnixSocket))
        {
            yield return $"{p}: set {p}:Tcp or {p}:UnixSocket (the OpenFlow listener switches connect to)";
        }

        if (!string.IsNullOrWhiteSpace(Tcp) && !IPEndPoint.TryParse(Tcp, out _))
        {
            yield return $"{p}:Tcp '{Tcp}' is not an address:port";
        }

        if (!string.IsNullOrWhiteSpace(UnixSocket) && Path.GetDirectoryName(Path.GetFullPath(UnixSocket)) is { } dir && !Directory.Exists(dir))
        {
            yield return $"{p}:UnixSocket '{UnixSocket}': directory {dir} does not exist";
        }

        var hasFile = !string.IsNullOrWhiteSpace(TopologyFile);
        if (hasFile && Switches.Count > 0)
        {
            yield return $"{p}: set {p}:TopologyFile or {p}:Switches, not both";
            yield break;
        }

        if (!hasFile && Switches.Count == 0)
        {
            yield return $"{p}:Switches must list one switch per site (or give {p}:TopologyFile)";
            yield break;
        }

        var errors = new List<string>();
        for (var i = 0; !hasFile && i < Switches.Count; i++)
        {
            errors.AddRange(Switches[i].Validate($"{p}:Switches:{i}", DatapathSync));
        }

        foreach (var e in errors)
        {
            yield return e;
        }

        if (errors.Count > 0)
        {
            yield break;
        }

        SdnTopology? topology = null;
        string? problem = null;
        try
        {
            topology = ToTopology();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or IOException)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            yield return hasFile ? $"{p}:TopologyFile {problem}" : $"{p}:Switches: {problem}";
            yield break;
        }

        var known = topology!.Sites.Select(s => s.Site.Value).ToHashSet();
        foreach (var site in edgeSites.Where(s => !known.Contains(s)))
        {
            yield return $"{p}:Switches has no switch for site '{site}' (every edge site's eNBs are steered at its own switch)";
        }

        foreach (var s in topology.Sites)
        {
            foreach (var other in s.InterSitePorts.Keys.Where(o => !known.Contains(o.Value)))
            {
                yield return $"{p}:Switches ({s.Site}):InterSitePorts names site '{other}', which has no switch";
            }

            if (!edgeSites.Contains(s.Site.Value) && s.Site.Value != coreSite)
            {
                yield return $"{p}:Switches ({s.Site}): '{s.Site}' is not a site of MobiScud:Sites";
            }
        }

        foreach (var dup in topology.Sites.GroupBy(s => s.DatapathId).Where(g => g.Count() > 1))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{p}:Switches: datapath id 0x{dup.Key:x} is used by {string.Join(" and ", dup.Select(s => s.Site))}");
        }
    }
}

/// <summary>One site's edge switch (the fields of <see cref="SiteTopology"/>).</summary>
public sealed class SwitchOptions
{
    public string Site { get; set; } = "";

    /// <summary>Hex, with or without 0x (OVS: other-config:datapath-id).</summary>
    public string DatapathId { get; set; } = "";

    /// <summary>The bridge's own tunnel endpoint address and MAC.</summary>
    public string Endpoint { get; set; } = "";

    public string EndpointMac { get; set; } = "";

    /// <summary>OpenFlow port of the bridge's gtpu port.</summary>
    public uint TunnelPort { get; set; }

    /// <summary>OpenFlow port the site's PVMs are behind.</summary>
    public uint PvmPort { get; set; }

    public List<PeerOptions> Enbs { get; set; } = [];

    public List<PeerOptions> Sgws { get; set; } = [];

    /// <summary>Site name to the port of the link toward it.</summary>
    public Dictionary<string, uint> InterSitePorts { get; set; } = [];

    public uint? TunnelMark { get; set; }

    /// <summary>Run directory of a co-located ovs-vswitchd (its pid file and control socket), for datapath sync.</summary>
    public string? OvsRunDirectory { get; set; }

    public ulong? ParseDatapathId()
    {
        var hex = DatapathId.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? DatapathId[2..] : DatapathId;
        return ulong.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    public IEnumerable<string> Validate(string p, DatapathSyncMode sync)
    {
        if (string.IsNullOrWhiteSpace(Site))
        {
            yield return $"{p}:Site must name the site";
        }

        if (ParseDatapathId() is null)
        {
            yield return $"{p}:DatapathId '{DatapathId}' is not a hex number";
        }

        if (!IPAddress.TryParse(Endpoint, out _))
        {
            yield return $"{p}:Endpoint '{Endpoint}' is not an IP address";
        }

        if (MacText.Parse(EndpointMac) is null)
        {
            yield return $"{p}:EndpointMac '{EndpointMac}' is not a MAC address";
        }

        foreach (var (key, port) in new[] { ("TunnelPort", TunnelPort), ("PvmPort", PvmPort) })
        {
            if (port is 0 or >= 0xffffff00)
            {
                yield return $"{p}:{key} must be a physical OpenFlow port number (was {port})";
            }
        }

        if (Sgws.Count == 0)
        {
            yield return $"{p}:Sgws must list at least one S-GW (unmatched GTP-U goes there)";
        }

        foreach (var (list, name) in new[] { (Enbs, "Enbs"), (Sgws, "Sgws") })
        {
            for (var i = 0; i < list.Count; i++)
            {
                foreach (var e in list[i].Validate($"{p}:{name}:{i}"))
                {
                    yield return e;
                }
            }
        }

        if (TunnelMark == 0)
        {
            yield return $"{p}:TunnelMark must be non-zero (0 is the unmarked route table), or left out";
        }

        if (sync != DatapathSyncMode.None && string.IsNullOrWhiteSpace(OvsRunDirectory))
        {
            yield return $"{p}:OvsRunDirectory must give the co-located ovs-vswitchd's run directory when Sdn:DatapathSync is {sync}";
        }
        else if (!string.IsNullOrWhiteSpace(OvsRunDirectory) && !Directory.Exists(OvsRunDirectory))
        {
            yield return $"{p}:OvsRunDirectory '{OvsRunDirectory}' does not exist";
        }
    }

    public SiteTopology ToTopology(string p) => new(
        new SiteId(Site),
        ParseDatapathId() ?? throw new FormatException($"{p}:DatapathId '{DatapathId}' is not a hex number"),
        IPAddress.Parse(Endpoint),
        MacText.Parse(EndpointMac)!,
        TunnelPort,
        PvmPort,
        [.. Enbs.Select(e => e.ToPeer())],
        [.. Sgws.Select(e => e.ToPeer())],
        InterSitePorts.ToDictionary(kv => new SiteId(kv.Key), kv => kv.Value),
        TunnelMark);
}

/// <summary>An eNB or S-GW beside the switch.</summary>
public sealed class PeerOptions
{
    public string Address { get; set; } = "";

    public string Mac { get; set; } = "";

    public uint Port { get; set; }

    public IEnumerable<string> Validate(string p)
    {
        if (!IPAddress.TryParse(Address, out _))
        {
            yield return $"{p}:Address '{Address}' is not an IP address";
        }

        if (MacText.Parse(Mac) is null)
        {
            yield return $"{p}:Mac '{Mac}' is not a MAC address";
        }

        if (Port is 0 or >= 0xffffff00)
        {
            yield return $"{p}:Port must be a physical OpenFlow port number (was {Port})";
        }
    }

    public GtpPeer ToPeer() => new(IPAddress.Parse(Address), MacText.Parse(Mac)!, Port);
}
