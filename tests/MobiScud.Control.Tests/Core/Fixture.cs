using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>A three-site topology (A, B, C; two eNBs each) and helpers to drive one UE through the pure core.</summary>
internal sealed class Fixture
{
    public static readonly SiteId A = new("site-a");
    public static readonly SiteId B = new("site-b");
    public static readonly SiteId C = new("site-c");
    public static readonly SiteId Core = new("core");
    public static readonly EnbId EnbA1 = new(0x101);
    public static readonly EnbId EnbA2 = new(0x102);
    public static readonly EnbId EnbB1 = new(0x201);
    public static readonly EnbId EnbC1 = new(0x301);
    public static readonly EnbId Unserved = new(0x999);
    public static readonly UeId Ue = new("imsi-001010000000001");
    public static readonly IPAddress UeIp = IPAddress.Parse("10.45.0.2");
    public static readonly IPAddress PvmIp = IPAddress.Parse("192.168.77.10");

    public static readonly IReadOnlyDictionary<EnbId, SiteId> Sites = new Dictionary<EnbId, SiteId>
    {
        [EnbA1] = A,
        [EnbA2] = A,
        [EnbB1] = B,
        [EnbC1] = C,
    };

    public Fixture(McConfig? config = null)
    {
        Config = config ?? new McConfig(Sites, Core);
    }

    public McConfig Config { get; }

    public UeState? State { get; private set; }

    public TimeSpan Now { get; private set; }

    public List<ControlCommand> All { get; } = [];

    /// <summary>What each decision is told about everyone else.</summary>
    public PolicyFacts Facts { get; set; } = PolicyFacts.None;

    /// <summary>A line of sites A - B - C with the core hanging off B (1 ms links, 2 ms to the core).</summary>
    public static SiteGraph Line(IReadOnlyDictionary<SiteId, int>? capacities = null) => SiteGraph.FromLinks(
        [A, B, C, Core],
        [new SiteLink(A, B), new SiteLink(B, C), new SiteLink(B, Core, 2)],
        capacities);

    /// <summary>The fixture's topology on the <see cref="Line"/> graph with a policy.</summary>
    public static McConfig WithPolicy(PolicyConfig policy, IReadOnlyDictionary<SiteId, int>? capacities = null) =>
        new McConfig(Sites, Core) { Policy = policy, Sites = Line(capacities) };

    /// <summary>Lets time pass without an event.</summary>
    public void Advance(TimeSpan by) => Now += by;

    /// <summary>Fires a timer the MC asked for (at its due time, or now if that is later).</summary>
    public IReadOnlyList<ControlCommand> Fire(ScheduleTimer t)
    {
        if (t.Due > Now)
        {
            Now = t.Due - TimeSpan.FromMilliseconds(100);
        }

        return On(at => new TimerFired(at, Ue, t.Kind, t.Token));
    }

    public static Bearer BearerAt(EnbId enb, byte erab = 5, uint dlTeid = 0x2002) =>
        new(erab, new GtpEndpoint(IPAddress.Parse("10.77.0.2"), 0x1000u + erab), new GtpEndpoint(EnbAddress(enb), dlTeid));

    public static IPAddress EnbAddress(EnbId enb) => new([10, 77, (byte)(enb.Value >> 8), (byte)enb.Value]);

    public static IReadOnlyList<BearerDownlink> DownlinkAt(EnbId enb, uint teid, byte erab = 5) =>
        [new BearerDownlink(erab, new GtpEndpoint(EnbAddress(enb), teid))];

    public IReadOnlyList<ControlCommand> On(Func<TimeSpan, UeEvent> make)
    {
        Now += TimeSpan.FromMilliseconds(100);
        var decision = MobiScudControl.Decide(Config, State, make(Now), Facts);
        State = decision.State;
        All.AddRange(decision.Commands);
        return decision.Commands;
    }

    public IReadOnlyList<ControlCommand> Attach(EnbId enb) =>
        On(t => new UeAttached(t, Ue, "001010000000001", UeIp, enb, null, [BearerAt(enb)]));

    public IReadOnlyList<ControlCommand> Started(SiteId site) =>
        On(t => new PvmStarted(t, Ue, PvmId.For(Ue), site, PvmIp));

    /// <summary>Attach at <paramref name="enb"/> and let the PVM come up there.</summary>
    public void Up(EnbId enb)
    {
        Attach(enb);
        Started(Config.PlacementFor(enb));
    }

    public IReadOnlyList<ControlCommand> PathSwitch(EnbId target, uint teid) =>
        On(t => new PathSwitched(t, Ue, target, DownlinkAt(target, teid)));

    public StartMigration LastMigration() => All.OfType<StartMigration>().Last();

    public IReadOnlyList<ControlCommand> Completed(MigrationId id) =>
        On(t => new MigrationCompleted(t, id, new MigrationStats(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(40), 90_000_000, 3)));

    public IReadOnlyList<ControlCommand> Failed(MigrationId id, string reason = "connection refused") =>
        On(t => new MigrationFailed(t, id, reason));

    public static T Single<T>(IEnumerable<ControlCommand> commands)
        where T : ControlCommand => Assert.Single(commands.OfType<T>());
}
