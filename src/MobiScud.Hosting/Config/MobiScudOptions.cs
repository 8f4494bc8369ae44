using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Config;

/// <summary>`mobiscud serve` configuration, section "MobiScud" (appsettings.json/YAML, MOBISCUD__ env vars, command line).</summary>
public sealed class MobiScudOptions
{
    public const string Section = "MobiScud";

    /// <summary>The core data centre behind the S-GW/P-GW.</summary>
    public string CoreSite { get; set; } = "core";

    public Strategy Strategy { get; set; } = Strategy.MobiScud;

    public List<SiteOptions> Sites { get; set; } = [];

    /// <summary>The migration policy and its parameters (Config/PolicyServeOptions.cs, docs/policies.md).</summary>
    public PolicyServeOptions Policy { get; set; } = new();

    /// <summary>Where the eNBs are, for distances in rings of cells (Config/CellsServeOptions.cs); none: hops of the site graph.</summary>
    public CellsServeOptions Cells { get; set; } = new();

    /// <summary>Links between the sites and the migration budgets on them (Config/BackhaulOptions.cs).</summary>
    public BackhaulOptions Backhaul { get; set; } = new();

    public TimeSpan? IdleSuspendAfter { get; set; }

    public TimeSpan? MigrationDeadline { get; set; }

    public TimeSpan MigrationRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Steering a switch rejected or did not confirm is sent again after this, doubling per failure up to <see cref="SteeringRetryMax"/>.</summary>
    public TimeSpan SteeringRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan SteeringRetryMax { get; set; } = TimeSpan.FromSeconds(30);

    public ApiOptions Api { get; set; } = new();

    public StorageOptions Storage { get; set; } = new();

    public SiloOptions Silo { get; set; } = new();

    public EventPipelineOptions Pipeline { get; set; } = new();

    public HypervisorOptions Hypervisor { get; set; } = new();

    public List<TapOptions> Taps { get; set; } = [];

    /// <summary>The edge switches: in memory, or an OpenFlow listener for Open vSwitch (Config/SdnServeOptions.cs).</summary>
    public SdnServeOptions Sdn { get; set; } = new();

    /// <summary>The live page at `/`: map tiles (Config/DashboardOptions.cs).</summary>
    public DashboardOptions Dashboard { get; set; } = new();

    /// <summary>The MC's topology and policy, without drained sites (those live in the cluster).</summary>
    public McConfig ToMcConfig(IReadOnlySet<SiteId>? drained = null)
    {
        var map = new Dictionary<EnbId, SiteId>();
        foreach (var site in Sites)
        {
            foreach (var enb in site.Enbs)
            {
                map[new EnbId(enb)] = new SiteId(site.Name);
            }

            foreach (var gnb in site.Gnbs)
            {
                map[new EnbId(gnb, Rat.Nr)] = new SiteId(site.Name);
            }
        }

        // The Backhaul section's links, else a full mesh; each site's capacity from its options (placement ranks and admits by it).
        var sites = Sites.Select(s => new SiteId(s.Name)).Append(new SiteId(CoreSite)).Distinct().ToList();
        var capacities = Sites.Where(s => s.Name != CoreSite).GroupBy(s => s.Name).ToDictionary(g => new SiteId(g.Key), g => g.First().Capacity);
        return new McConfig(map, new SiteId(CoreSite), Strategy, IdleSuspendAfter, MigrationDeadline, MigrationRetryAfter, drained, SteeringRetryAfter, SteeringRetryMax)
        {
            Policy = Policy.ToPolicyConfig(),
            Sites = SiteGraph.FromLinks(sites, Backhaul.LinksFor(sites, Policy.InterSiteDelayMs), capacities),
            Cells = Cells.ToCellGeometry(Sites),
        };
    }
}

public sealed class SiteOptions
{
    public string Name { get; set; } = "";

    /// <summary>How many PVMs the site hosts; migrations into a full site are refused (admission).</summary>
    public int Capacity { get; set; } = 1000;

    /// <summary>Global eNB ids (as the tracker reports them) whose backhaul this site's switch sees: a macro eNB's 20-bit
    /// id or a Home eNB's 28-bit id, decimal or 0x hex (e.g. 0x00A2C01).</summary>
    public List<uint> Enbs { get; set; } = [];

    /// <summary>Where the site is (degrees), for the dashboard's map: with coordinates for every site the map is geographic (tiles may go under it).</summary>
    public double? Latitude { get; set; }

    public double? Longitude { get; set; }

    /// <summary>gNB ids (22..32 bits, as the tracker reports them from NGAP): NR nodes, a value space of their own
    /// (gNB 5 and eNB 5 are two nodes); notifications name their cells by NCGI where LTE has ECGI.</summary>
    public List<uint> Gnbs { get; set; } = [];
}

public sealed class ApiOptions
{
    /// <summary>Bearer token every REST call must carry.</summary>
    public string Token { get; set; } = "";

    /// <summary>Kestrel port (0: any free port).</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 8080;

    /// <summary>The address the API listens on: loopback by default; 0.0.0.0 or a host address to serve other machines.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>
    /// TLS for the API: a PEM certificate (with <see cref="CertificateKey"/>, or the key in the same file) or a PKCS#12
    /// file (.pfx/.p12, with <see cref="CertificatePassword"/> when it has one). Without it the API speaks plain HTTP.
    /// </summary>
    public string? Certificate { get; set; }

    public string? CertificateKey { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>Timeline entries kept per UE (each holds an event and its commands: about half a kilobyte in memory).</summary>
    [Range(1, 100_000)]
    public int TimelineLength { get; set; } = 64;

    /// <summary>
    /// A write (pin, move, drain) is answered 202 only once its event is persisted; when storage does not take it within
    /// this time the answer is 503 with Retry-After, and the client retries (the writes are idempotent).
    /// </summary>
    public TimeSpan WriteDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where MEC webhooks may post (see <see cref="WebhookOptions"/>).</summary>
    public WebhookOptions Webhooks { get; set; } = new();
}

public enum StorageKind
{
    Memory,
    Redis,

    /// <summary>Orleans' ADO.NET clustering and grain storage on PostgreSQL (schema created at start when missing).</summary>
    Postgres,
}

public sealed class StorageOptions
{
    public StorageKind Kind { get; set; } = StorageKind.Memory;

    /// <summary>StackExchange.Redis configuration string, e.g. localhost:6379.</summary>
    public string Redis { get; set; } = "localhost:6379";

    /// <summary>Npgsql connection string, e.g. Host=localhost;Database=mobiscud;Username=mobiscud;Password=...</summary>
    public string? Postgres { get; set; }

    /// <summary>How often storage is probed (reachable? still holding its generation marker, or wiped?); /readyz follows.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}

public sealed class SiloOptions
{
    public string ClusterId { get; set; } = "mobiscud";

    public string ServiceId { get; set; } = "mobiscud";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The address other silos reach this one on, written to the membership table. Loopback by default (one machine);
    /// for a cluster across hosts, this host's address on the network the silos share (Redis or PostgreSQL storage).
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Bind the silo and gateway ports on every address (behind NAT or in a container) while advertising <see cref="AdvertisedAddress"/>.</summary>
    public bool ListenOnAnyAddress { get; set; }
}

public sealed class EventPipelineOptions
{
    /// <summary>Independent ordered lanes; a UE always maps to the same one.</summary>
    [Range(1, 1024)]
    public int Partitions { get; set; } = 16;

    /// <summary>Events buffered per lane; producers wait when it is full (backpressure).</summary>
    [Range(1, 1_000_000)]
    public int Capacity { get; set; } = 4096;

    /// <summary>Most events one lane hands to grains at once.</summary>
    [Range(1, 100_000)]
    public int MaxBatch { get; set; } = 512;
}

public enum HypervisorKind
{
    /// <summary>PVMs boot and migrate in a pre-copy model on the wall clock (sped up by TimeScale).</summary>
    Simulated,

    /// <summary>No VMs: PVMs start at once and migrations stay in flight, as `mobiscud replay` models them.</summary>
    Replay,

    /// <summary>Real PVMs: QEMU processes on this machine over QMP, live-migrated between sites (see <see cref="HypervisorOptions.Qemu"/>).</summary>
    Qemu,
}

public sealed class HypervisorOptions
{
    public HypervisorKind Kind { get; set; } = HypervisorKind.Simulated;

    /// <summary>Time to boot or resume a simulated PVM.</summary>
    public TimeSpan BootTime { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Simulated time runs this many times faster than the wall clock (pre-copy model).</summary>
    [Range(0.001, 1e6)]
    public double TimeScale { get; set; } = 1;

    /// <summary>PVM RAM in MiB for the pre-copy model.</summary>
    [Range(1, 1 << 20)]
    public int MemoryMiB { get; set; } = 512;

    /// <summary>Inter-site link bandwidth in Mbit/s.</summary>
    [Range(1, 1e6)]
    public double LinkMbps { get; set; } = 1000;

    /// <summary>Guest dirty rate in MiB/s.</summary>
    [Range(0, 1e6)]
    public double DirtyMiBps { get; set; } = 20;

    /// <summary>Migrations into these sites fail (a broken link), to exercise rollback.</summary>
    public List<string> FailMigrationsTo { get; set; } = [];

    /// <summary>With Kind Qemu (Config/QemuServeOptions.cs).</summary>
    public QemuServeOptions Qemu { get; set; } = new();
}

public enum TapSpeed
{
    /// <summary>Replay at the capture's own pace.</summary>
    Recorded,

    /// <summary>As fast as the pipeline takes it.</summary>
    Max,
}

public sealed class TapOptions
{
    /// <summary>A pcap/pcapng capture to replay through the capture pipeline and the UE tracker.</summary>
    public string? Pcap { get; set; }

    /// <summary>A live interface (libpcap) to tap, through the same pipeline.</summary>
    public string? Interface { get; set; }

    /// <summary>A JSON-lines file of control events (what `mobiscud replay` derives from S1AP), one event a line.</summary>
    public string? Events { get; set; }

    public TapSpeed Speed { get; set; } = TapSpeed.Recorded;

    /// <summary>With Speed Recorded, the capture's pace times this (2: twice as fast).</summary>
    [Range(0.001, 1e6)]
    public double Rate { get; set; } = 1;

    /// <summary>UDP port of UDP-encapsulated SCTP (RFC 6951) in pcap and live taps.</summary>
    [Range(1, 65535)]
    public int SctpUdpPort { get; set; } = 9899;
}

/// <summary>Checks the whole configuration at start; every message names the offending key.</summary>
internal sealed class MobiScudOptionsValidator : IValidateOptions<MobiScudOptions>
{
    public ValidateOptionsResult Validate(string? name, MobiScudOptions o)
    {
        var errors = new List<string>();
        var p = MobiScudOptions.Section;
        if (string.IsNullOrWhiteSpace(o.CoreSite))
        {
            errors.Add($"{p}:CoreSite must name the core site");
        }

        if (string.IsNullOrWhiteSpace(o.Api.Token) || o.Api.Token.Length < 16)
        {
            errors.Add($"{p}:Api:Token must be set to a secret of at least 16 characters (every REST call needs it as a bearer token)");
        }

        var seenSites = new HashSet<string>();
        var seenEnbs = new Dictionary<uint, string>();
        var seenGnbs = new Dictionary<uint, string>();
        for (var i = 0; i < o.Sites.Count; i++)
        {
            var s = o.Sites[i];
            var key = $"{p}:Sites:{i}";
            if (string.IsNullOrWhiteSpace(s.Name))
            {
                errors.Add($"{key}:Name must be set");
            }
            else if (!seenSites.Add(s.Name) || s.Name == o.CoreSite)
            {
                errors.Add($"{key}:Name '{s.Name}' is used twice (or is the core site)");
            }

            if (s.Capacity < 1)
            {
                errors.Add($"{key}:Capacity must be at least 1 (was {s.Capacity})");
            }

            foreach (var enb in s.Enbs)
            {
                if (seenEnbs.TryGetValue(enb, out var other))
                {
                    errors.Add($"{key}:Enbs lists eNB {enb}, already served by site '{other}'");
                }
                else
                {
                    seenEnbs[enb] = s.Name;
                }
            }

            // gNB ids are a value space of their own (EnbId.Rat): gNB 5 may be at another site than eNB 5.
            foreach (var gnb in s.Gnbs)
            {
                if (seenGnbs.TryGetValue(gnb, out var other))
                {
                    errors.Add($"{key}:Gnbs lists gNB {gnb}, already served by site '{other}'");
                }
                else
                {
                    seenGnbs[gnb] = s.Name;
                }
            }
        }

        errors.AddRange(o.Policy.Problems());
        errors.AddRange(o.Cells.Problems());
        var siteNames = o.Sites.Select(s => s.Name).Append(o.CoreSite).Distinct().ToList();
        var backhaul = o.Backhaul.Problems(siteNames).ToList();
        errors.AddRange(backhaul);
        if (backhaul.Count == 0 && o.Backhaul.Links.Count > 0)
        {
            try
            {
                var ids = siteNames.Select(s => new SiteId(s)).ToList();
                _ = SiteGraph.FromLinks(ids, o.Backhaul.LinksFor(ids, o.Policy.InterSiteDelayMs));
            }
            catch (ArgumentException e)
            {
                errors.Add($"{p}:Backhaul:Links: {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }
        Positive(o.IdleSuspendAfter, $"{p}:IdleSuspendAfter", errors);
        Positive(o.MigrationDeadline, $"{p}:MigrationDeadline", errors);
        Positive(o.MigrationRetryAfter, $"{p}:MigrationRetryAfter", errors);
        Positive(o.SteeringRetryAfter, $"{p}:SteeringRetryAfter", errors);
        Positive(o.SteeringRetryMax, $"{p}:SteeringRetryMax", errors);
        if (o.SteeringRetryMax < o.SteeringRetryAfter)
        {
            errors.Add($"{p}:SteeringRetryMax ({o.SteeringRetryMax}) must be at least {p}:SteeringRetryAfter ({o.SteeringRetryAfter})");
        }
        Positive(o.Hypervisor.BootTime, $"{p}:Hypervisor:BootTime", errors, allowZero: true);
        if (o.Storage.Kind == StorageKind.Redis && string.IsNullOrWhiteSpace(o.Storage.Redis))
        {
            errors.Add($"{p}:Storage:Redis must give the Redis endpoint when Storage:Kind is Redis");
        }

        if (o.Storage.Kind == StorageKind.Postgres && PostgresStorage.Problem(o.Storage.Postgres) is { } pg)
        {
            errors.Add($"{p}:Storage:Postgres {pg}");
        }

        if (!IPAddress.TryParse(o.Silo.AdvertisedAddress, out var advertised))
        {
            errors.Add($"{p}:Silo:AdvertisedAddress '{o.Silo.AdvertisedAddress}' is not an IP address");
        }
        else if (o.Storage.Kind == StorageKind.Memory && !IPAddress.IsLoopback(advertised))
        {
            errors.Add($"{p}:Silo:AdvertisedAddress {advertised} is not loopback, but Storage:Kind Memory clusters one machine only: use Redis or Postgres for silos on several hosts");
        }
        else if (advertised.Equals(IPAddress.Any) || advertised.Equals(IPAddress.IPv6Any))
        {
            errors.Add($"{p}:Silo:AdvertisedAddress {advertised} cannot be reached by other silos: give this host's address (and ListenOnAnyAddress: true to bind every address)");
        }

        if (!IPAddress.TryParse(o.Api.Address, out _))
        {
            errors.Add($"{p}:Api:Address '{o.Api.Address}' is not an IP address");
        }

        if (o.Api.Certificate is not null && ApiCertificate.Problem(o.Api, $"{p}:Api") is { } certProblem)
        {
            errors.Add(certProblem);
        }
        else if (o.Api.Certificate is null && (o.Api.CertificateKey ?? o.Api.CertificatePassword) is not null)
        {
            errors.Add($"{p}:Api:CertificateKey and CertificatePassword need {p}:Api:Certificate");
        }

        if (o.Hypervisor.Kind == HypervisorKind.Qemu)
        {
            errors.AddRange(o.Hypervisor.Qemu.Validate($"{p}:Hypervisor:Qemu", [.. o.Sites.Select(s => s.Name), o.CoreSite]));
        }

        errors.AddRange(o.Sdn.Validate($"{p}:Sdn", [.. o.Sites.Select(s => s.Name)], o.CoreSite));
        errors.AddRange(o.Dashboard.Validate($"{p}:Dashboard", o.Sites));
        for (var i = 0; i < o.Taps.Count; i++)
        {
            var t = o.Taps[i];
            var set = new[] { t.Pcap, t.Interface, t.Events }.Count(x => !string.IsNullOrWhiteSpace(x));
            if (set != 1)
            {
                errors.Add($"{p}:Taps:{i} must set exactly one of Pcap, Interface, Events");
            }
            else if (t.Pcap is not null && CaptureProblem(t.Pcap) is { } problem)
            {
                errors.Add($"{p}:Taps:{i}:Pcap {problem}");
            }
            else if (t.Interface is not null && t.Interface != "any" && !NetworkInterface.GetAllNetworkInterfaces().Any(n => n.Name == t.Interface))
            {
                errors.Add($"{p}:Taps:{i}:Interface '{t.Interface}' is not a network interface of this machine (have: {string.Join(", ", NetworkInterface.GetAllNetworkInterfaces().Select(n => n.Name))})");
            }
            else if (t.Events is not null && !File.Exists(t.Events))
            {
                errors.Add($"{p}:Taps:{i}:Events file '{t.Events}' does not exist");
            }

            errors.AddRange(ValidateAnnotations(t, $"{p}:Taps:{i}"));
        }

        foreach (var r in ValidateAnnotations(o.Api, $"{p}:Api").Concat(ValidateAnnotations(o.Silo, $"{p}:Silo"))
                     .Concat(ValidateAnnotations(o.Pipeline, $"{p}:Pipeline")).Concat(ValidateAnnotations(o.Hypervisor, $"{p}:Hypervisor")))
        {
            errors.Add(r);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Why a capture file cannot be replayed (missing, unreadable, not pcap/pcapng), or null when its header reads.</summary>
    private static string? CaptureProblem(string path)
    {
        if (!File.Exists(path))
        {
            return $"file '{path}' does not exist";
        }

        try
        {
            using var source = CaptureFile.Open(path);
            return null;
        }
        catch (CaptureFormatException e)
        {
            return e.Message;
        }
    }

    private static void Positive(TimeSpan? v, string key, List<string> errors, bool allowZero = false)
    {
        if (v is { } t && (t < TimeSpan.Zero || (!allowZero && t == TimeSpan.Zero)))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key} must be positive (was {t})"));
        }
    }

    private static IEnumerable<string> ValidateAnnotations(object section, string prefix)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true);
        return results.Select(r => $"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}");
    }
}
