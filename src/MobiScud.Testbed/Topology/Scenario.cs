using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MobiScud.Testbed.Topology;

public enum HandoverProcedure
{
    /// <summary>X2 handover: the target eNB sends PathSwitchRequest, the MME acknowledges.</summary>
    X2,

    /// <summary>S1 handover: HandoverRequired, Request, Request Ack, Command, Notify.</summary>
    S1,

    /// <summary>S1 handover prepared then cancelled by the source (HandoverCancel): the UE stays.</summary>
    S1Cancelled,

    /// <summary>Inactivity: the serving eNB releases the UE to ECM-IDLE (UE Context Release); toEnb is not used.</summary>
    Idle,

    /// <summary>The idle UE sends a Service Request at toEnb (InitialUEMessage with S-TMSI, context setup).</summary>
    ServiceRequest,

    /// <summary>5G (rat: nr): Xn handover, the target gNB sends PathSwitchRequest; the same as X2 on LTE.</summary>
    Xn,

    /// <summary>5G (rat: nr): N2 handover through the AMF; the same as S1 on LTE.</summary>
    N2,

    /// <summary>5G (rat: nr): N2 handover prepared then cancelled by the source; the same as S1Cancelled on LTE.</summary>
    N2Cancelled,
}

/// <summary>The radio access and core the testbed emulates.</summary>
public enum TestbedRat
{
    /// <summary>LTE: eNBs, MME, S-GW/P-GW; S1AP on S1-MME, GTP-U on S1-U.</summary>
    Lte,

    /// <summary>5G standalone: gNBs, AMF, UPF; NGAP on N2, GTP-U with the PDU Session Container on N3.</summary>
    Nr,
}

public sealed class HandoverStep
{
    /// <summary>Seconds after the UE's attach.</summary>
    public double AtSeconds { get; set; }

    /// <summary>1-based UE number.</summary>
    public int Ue { get; set; } = 1;

    /// <summary>1-based target eNB number.</summary>
    public int ToEnb { get; set; }

    public HandoverProcedure Procedure { get; set; } = HandoverProcedure.X2;
}

/// <summary>What runs a PVM in the testbed.</summary>
public enum PvmBackend
{
    /// <summary>A QEMU guest (TCG), live-migrated by pre-copy over QMP: the real thing, a few per machine.</summary>
    Qemu,

    /// <summary>A network namespace whose kernel answers pings; "migration" re-plugs its link. For many UEs.</summary>
    Netns,
}

public sealed class MigrationPolicySettings
{
    /// <summary>Defaults are the tuned policy measured in docs/cloud.md (no practical cap, 30 ms downtime limit).</summary>
    public long MaxBandwidthMiBps { get; set; } = 10240;

    public int DowntimeLimitMs { get; set; } = 30;

    public bool AutoConverge { get; set; }

    public MobiScud.Cloud.Qemu.MigrationPolicy ToPolicy() => MobiScud.Cloud.Qemu.MigrationPolicy.Tuned with
    {
        MaxBandwidthBytesPerSecond = MaxBandwidthMiBps * 1024 * 1024,
        DowntimeLimit = TimeSpan.FromMilliseconds(DowntimeLimitMs),
        AutoConverge = AutoConverge,
    };
}

/// <summary>
/// What `mobiscud testbed` builds and plays. Defaults reproduce the paper's set-up in miniature: two eNBs, each
/// next to its own edge site, one UE that attaches at eNB 1, hands over to eNB 2 and later comes back.
/// </summary>
public sealed class Scenario
{
    /// <summary>LTE (default) or 5G standalone (`rat: nr`, or `testbed run --rat nr`): eNB N is then gNB N.</summary>
    public TestbedRat Rat { get; set; } = TestbedRat.Lte;

    public int Enbs { get; set; } = 2;

    public int Sites { get; set; } = 2;

    public int Ues { get; set; } = 1;

    /// <summary>One-way delay between an eNB and its edge site's switch.</summary>
    public double EnbEdgeDelayMs { get; set; } = 2;

    /// <summary>One-way delay between an edge site and the core (MME, S-GW/P-GW, core data centre).</summary>
    public double EdgeCoreDelayMs { get; set; } = 20;

    /// <summary>One-way delay between two edge sites (the path of PVM traffic relayed while a migration runs).</summary>
    public double InterSiteDelayMs { get; set; } = 5;

    /// <summary>Site (0-based) of each eNB; empty spreads eNBs over sites round-robin.</summary>
    public List<int> EnbSites { get; set; } = [];

    public List<HandoverStep> Handovers { get; set; } =
    [
        new() { AtSeconds = 4, ToEnb = 2, Procedure = HandoverProcedure.X2 },
        new() { AtSeconds = 12, ToEnb = 1, Procedure = HandoverProcedure.S1 },
    ];

    public double PingIntervalMs { get; set; } = 20;

    /// <summary>
    /// SCHED_RR priority (1-99) for the sites' ovs-vswitchd and the controller's switch reader threads; 0: normal.
    /// On a loaded host it keeps the switch's and the controller's wake-ups from queueing behind other work, as a
    /// switch daemon with its own core would (docs/testbed.md, Reaction times).
    /// </summary>
    public int SwitchRealtimePriority { get; set; }

    /// <summary>
    /// SCHED_RR priority (1-99) for the backhaul tap's reader thread, which also decodes, tracks and decides when the
    /// MC is waiting for a frame; 0: normal. On a loaded host its wake-up on a frame otherwise queues behind other work
    /// (docs/testbed.md, Reaction times).
    /// </summary>
    public int TapRealtimePriority { get; set; }

    /// <summary>
    /// Compile the MC's path (capture, decoders, tracker, MC, steering: ~6,300 methods) before the tap opens, so that the
    /// first handover does not compile it on the tap's thread (docs/testbed.md, Reaction times). Off by default: it
    /// costs seconds of CPU at the start (41 s at load 60 on 2 cores) and only moves the first handovers.
    /// </summary>
    public bool CodeWarmup { get; set; }

    /// <summary>How long the UE keeps pinging after attach.</summary>
    public double DurationSeconds { get; set; } = 18;

    public MigrationPolicySettings Migration { get; set; } = new();

    public int PvmMemoryMiB { get; set; } = 128;

    /// <summary>QEMU guests (default) or namespace stand-ins (for more UEs than TCG guests fit on the machine).</summary>
    public PvmBackend Pvm { get; set; } = PvmBackend.Qemu;

    /// <summary>The MC's migration policy (always, never, myopic, hysteresis, mdp-threshold, predictive; docs/policies.md).</summary>
    public string Policy { get; set; } = "always";

    /// <summary>Hysteresis: the dwell at a new site before the PVM follows.</summary>
    public double PolicyDwellSeconds { get; set; } = 30;

    /// <summary>Index of eNB <paramref name="enb"/> (1-based) to its 0-based site.</summary>
    public int SiteOf(int enb) => EnbSites.Count >= enb ? EnbSites[enb - 1] : (enb - 1) % Sites;

    public static string SiteName(int site) => ((char)('a' + site)).ToString();

    /// <summary>All problems at once, each naming the field.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Enbs is < 2 or > 4)
        {
            errors.Add($"enbs: {Enbs} is outside 2..4");
        }

        if (Sites is < 2 or > 4)
        {
            errors.Add($"sites: {Sites} is outside 2..4");
        }

        if (Ues is < 1 or > 16)
        {
            errors.Add($"ues: {Ues} is outside 1..16");
        }

        if (EnbEdgeDelayMs is < 0 or > 1000)
        {
            errors.Add($"enbEdgeDelayMs: {EnbEdgeDelayMs} is outside 0..1000");
        }

        if (EdgeCoreDelayMs is < 0 or > 1000)
        {
            errors.Add($"edgeCoreDelayMs: {EdgeCoreDelayMs} is outside 0..1000");
        }

        if (InterSiteDelayMs is < 0 or > 1000)
        {
            errors.Add($"interSiteDelayMs: {InterSiteDelayMs} is outside 0..1000");
        }

        if (EnbSites.Count != 0 && EnbSites.Count != Enbs)
        {
            errors.Add($"enbSites: has {EnbSites.Count} entries for {Enbs} eNBs");
        }

        for (var i = 0; i < EnbSites.Count; i++)
        {
            if (EnbSites[i] < 0 || EnbSites[i] >= Sites)
            {
                errors.Add($"enbSites[{i}]: site {EnbSites[i]} does not exist (sites: {Sites})");
            }
        }

        try
        {
            _ = MobiScud.Control.Policies.PolicyConfig.Parse(Policy ?? "");
        }
        catch (ArgumentException e)
        {
            errors.Add($"policy: {e.Message.Split(" (Parameter", 2)[0]}");
        }

        if (PolicyDwellSeconds is <= 0 or > 3600)
        {
            errors.Add($"policyDwellSeconds: {PolicyDwellSeconds} is outside (0, 3600]");
        }

        if (SwitchRealtimePriority is < 0 or > 99)
        {
            errors.Add($"switchRealtimePriority: {SwitchRealtimePriority} is outside 0..99");
        }

        if (TapRealtimePriority is < 0 or > 99)
        {
            errors.Add($"tapRealtimePriority: {TapRealtimePriority} is outside 0..99");
        }

        if (PingIntervalMs is < 1 or > 10_000)
        {
            errors.Add($"pingIntervalMs: {PingIntervalMs} is outside 1..10000");
        }

        if (DurationSeconds is <= 0 or > 3600)
        {
            errors.Add($"durationSeconds: {DurationSeconds} is outside (0, 3600]");
        }

        for (var i = 0; i < Handovers.Count; i++)
        {
            var h = Handovers[i];
            if (h.Ue < 1 || h.Ue > Ues)
            {
                errors.Add($"handovers[{i}].ue: UE {h.Ue} does not exist (ues: {Ues})");
            }

            if (h.Procedure != HandoverProcedure.Idle && (h.ToEnb < 1 || h.ToEnb > Enbs))
            {
                errors.Add($"handovers[{i}].toEnb: eNB {h.ToEnb} does not exist (enbs: {Enbs})");
            }

            if (Rat == TestbedRat.Lte && h.Procedure is HandoverProcedure.Xn or HandoverProcedure.N2 or HandoverProcedure.N2Cancelled)
            {
                errors.Add($"handovers[{i}].procedure: {h.Procedure} is a 5G procedure (rat: nr); LTE has X2, S1, S1Cancelled");
            }

            if (h.AtSeconds < 0 || h.AtSeconds >= DurationSeconds)
            {
                errors.Add($"handovers[{i}].atSeconds: {h.AtSeconds} is outside [0, durationSeconds)");
            }
        }

        if (PvmMemoryMiB < 96)
        {
            errors.Add($"pvmMemoryMiB: {PvmMemoryMiB} is below 96 (Debian kernels do not boot in less)");
        }

        if (Migration.MaxBandwidthMiBps <= 0)
        {
            errors.Add($"migration.maxBandwidthMiBps: {Migration.MaxBandwidthMiBps} must be positive");
        }

        if (Migration.DowntimeLimitMs <= 0)
        {
            errors.Add($"migration.downtimeLimitMs: {Migration.DowntimeLimitMs} must be positive");
        }

        return errors;
    }

    public Scenario Validated()
    {
        var errors = Validate();
        return errors.Count == 0 ? this : throw new TestbedScenarioException("invalid scenario: " + string.Join("; ", errors));
    }

    public static Scenario Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new TestbedScenarioException($"scenario file not found: {path}");
        }

        var deserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
        try
        {
            var text = File.ReadAllText(path);
            var scenario = string.IsNullOrWhiteSpace(text) ? new Scenario() : deserializer.Deserialize<Scenario>(text);
            return scenario.Validated();
        }
        catch (YamlException e)
        {
            throw new TestbedScenarioException($"{path}:{e.Start.Line}:{e.Start.Column}: {e.InnerException?.Message ?? e.Message}", e);
        }
    }
}

public sealed class TestbedScenarioException : Exception
{
    public TestbedScenarioException(string message)
        : base(message)
    {
    }

    public TestbedScenarioException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
