using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Pipeline;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Placement;

namespace MobiScud.Hosting.Grains;

/// <summary>
/// Persisted per UE before its commands leave: the MC state and the last sequence applied from each pipeline. Kept
/// small, since it is written for every batch of the UE's events.
/// </summary>
[GenerateSerializer]
public sealed class UeRecord : ISnapshotState<UeRecord>
{
    [Id(0)]
    public UeState? State { get; set; }

    /// <summary>Highest sequence applied per pipeline instance (a few kept), so retried deliveries apply once.</summary>
    [Id(1)]
    public Dictionary<string, long> Applied { get; set; } = [];

    [Id(3)]
    public bool Indexed { get; set; }

    [Id(4)]
    public int Count { get; set; }

    /// <summary>Set when one of the UE's events made the MC throw: its events are set aside until an operator releases it.</summary>
    [Id(5)]
    public QuarantineNote? Quarantine { get; set; }

    /// <summary>The UE's serving cell as the last event that named one gave it (MEC 012 queries; the MC does not use it).</summary>
    [Id(6)]
    public Ecgi? Cell { get; set; }

    /// <summary>A 5G UE's serving NR cell as the last event that named one gave it (NCGI where LTE has <see cref="Cell"/>).</summary>
    [Id(7)]
    public Ncgi? NrCell { get; set; }

    /// <summary>The MC state is immutable: only the container is copied.</summary>
    public UeRecord Snapshot() => new() { State = State, Applied = new(Applied), Indexed = Indexed, Count = Count, Quarantine = Quarantine, Cell = Cell, NrCell = NrCell };
}

/// <summary>Why a UE is quarantined: the event the MC could not apply, the error, and how many events were set aside since.</summary>
[GenerateSerializer]
[Immutable]
public sealed record QuarantineNote(
    [property: Id(0)] string Event,
    [property: Id(1)] string Error,
    [property: Id(2)] TimeSpan At,
    [property: Id(3)] int SetAside);

/// <summary>
/// The UE's recent history for the API, stored apart from <see cref="UeRecord"/> and written behind (at most once per
/// <see cref="UeGrain.TimelineWriteInterval"/>, and when the grain deactivates): it is a view, not state the MC
/// decides on, and writing it with every event made each write carry the whole history.
/// </summary>
[GenerateSerializer]
public sealed class UeTimeline : ISnapshotState<UeTimeline>
{
    [Id(0)]
    public List<TimelineEntry> Entries { get; set; } = [];

    /// <summary>The entries are immutable: only the list is copied.</summary>
    public UeTimeline Snapshot() => new() { Entries = [.. Entries] };
}

/// <summary>
/// One UE: runs the pure MC core over its persisted state. The new state is written to grain storage before any
/// command leaves, so a crash after this point replays nothing twice and loses nothing: the next activation reads
/// what the commands were derived from, and the restart reconciliation squares it with the adapters.
/// Placed at random: UEs spread evenly over the silos, whichever silo's tap saw them.
/// </summary>
[RandomPlacement]
public sealed class UeGrain(
    [PersistentState("ue", GrainNames.Storage)] IPersistentState<UeRecord> store,
    [PersistentState("timeline", GrainNames.Storage)] IPersistentState<UeTimeline> history,
    McConfigProvider config,
    ICommandDispatcher dispatcher,
    SiteMembership sites,
    HostingMetrics metrics,
    ResilienceMetrics resilience,
    ILogger<UeGrain> log,
    IServiceProvider services) : Grain, IUeGrain
{
    private readonly ILogger _log = log;

    /// <summary>Radio network information (MEC 012) hears the applied events once persisted; absent in hosts without the MEC APIs.</summary>
    private readonly Mec.IRanObserver? _ran = services.GetService(typeof(Mec.IRanObserver)) as Mec.IRanObserver;

    private readonly List<Mec.RanFact> _pendingRan = [];

    /// <summary>The silo's learned handover statistics; absent in hosts that register no learner (the policies use their priors).</summary>
    private readonly MobilityLearner? _learner = services.GetService(typeof(MobilityLearner)) as MobilityLearner;

    /// <summary>The sites' admitted counts as this silo last read them; absent in hosts that register no watch (every site looks as if it had room).</summary>
    private readonly SiteOccupancyWatch? _occupancy = services.GetService(typeof(SiteOccupancyWatch)) as SiteOccupancyWatch;

    /// <summary>The migrations per link as this silo last read them from the scheduler; absent in hosts that register no watch (every link looks free).</summary>
    private readonly LinkMigrationsWatch? _linkMigrations = services.GetService(typeof(LinkMigrationsWatch)) as LinkMigrationsWatch;

    /// <summary>What the current turn would show (timeline entries, metrics), held until its state is persisted.</summary>
    private readonly List<TimelineEntry> _pendingTimeline = [];
    private readonly List<string> _pendingMetrics = [];
    private readonly List<(string Outcome, TimeSpan Duration)> _pendingMigrations = [];

    private const int KeptSources = 8;

    /// <summary>Timeline labels of the notification kinds, made once (Enum.ToString allocates on every call).</summary>
    private static readonly string[] _kindNames = [.. Enum.GetValues<NotificationKind>().Select(k => k.ToString())];

    /// <summary>
    /// Timeline entries are written at most this often per UE, and when the grain deactivates. A silo crash loses the
    /// entries written since (the MC state is never behind: it is written before every command).
    /// </summary>
    public static readonly TimeSpan TimelineWriteInterval = TimeSpan.FromSeconds(1);

    /// <summary>The grain key as a string, made once per activation.</summary>
    private string? _key;

    private bool _historyDirty;
    private long _historyWritten;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await WriteHistory();

    /// <summary>
    /// Writes new timeline entries if the last write is old enough; else they wait for a later turn or the grain's
    /// deactivation. No timer per UE: ten thousand grain timers re-armed every second cost more than the writes.
    /// </summary>
    private async Task HistoryChanged()
    {
        if (_historyDirty && (_historyWritten == 0 || TimeProvider.System.GetElapsedTime(_historyWritten) >= TimelineWriteInterval))
        {
            await WriteHistory();
        }
    }

    private async Task WriteHistory()
    {
        if (!_historyDirty)
        {
            return;
        }

        _historyDirty = false;
        _historyWritten = TimeProvider.System.GetTimestamp();
        await history.WriteStateAsync();
    }

    public async Task<int> Handle(Immutable<EventEnvelope[]> batch)
    {
        // Applied to a copy: the persisted record is replaced only once the write has succeeded, so a failed write
        // leaves nothing marked as applied and the pipeline's retry applies the events again.
        var record = store.State.Snapshot();
        var before = record.State;
        var commands = new List<ControlCommand>();
        var applied = 0;
        var pendingCommit = false;
        _pendingTimeline.Clear();
        _pendingMetrics.Clear();
        _pendingRan.Clear();
        foreach (var envelope in batch.Value)
        {
            if (record.Applied.TryGetValue(envelope.Source, out var last) && envelope.Seq <= last)
            {
                continue;
            }

            if (envelope.Event is ReconcileRequested && record.Quarantine is null)
            {
                await config.RefreshAsync();
            }

            ApplyOrQuarantine(record, envelope.Event, commands);
            record.Applied[envelope.Source] = envelope.Seq;
            applied++;
            if (dispatcher.ReportsAtOnce(commands))
            {
                // The outcome must be applied before this UE's next event, as it would have been had it come first.
                record = await CommitAsync(record, before, commands);
                before = record.State;
                commands = [];
                pendingCommit = false;
            }
            else
            {
                pendingCommit = true;
            }
        }

        if (applied == 0)
        {
            return 0;
        }

        if (record.Applied.Count > KeptSources)
        {
            // Pipelines from earlier runs will never send again; keep the newest few.
            foreach (var old in record.Applied.OrderBy(kv => kv.Value).Take(record.Applied.Count - KeptSources).ToList())
            {
                record.Applied.Remove(old.Key);
            }
        }

        if (pendingCommit)
        {
            await CommitAsync(record, before, commands);
        }

        foreach (var envelope in batch.Value)
        {
            metrics.Reaction(envelope.EnqueuedTimestamp);
        }

        await HistoryChanged();
        return applied;
    }

    /// <summary>
    /// Runs the MC on the event, unless the UE is quarantined. When the MC throws, the UE keeps the state from before
    /// the event and is quarantined: one UE's bad event must not stop the lane and every other UE on it.
    /// </summary>
    private void ApplyOrQuarantine(UeRecord record, UeEvent e, List<ControlCommand> commands)
    {
        if (record.Quarantine is { } q)
        {
            // The MC cannot be trusted with this UE until an operator has looked: count what is set aside.
            record.Quarantine = q with { SetAside = q.SetAside + 1 };
            return;
        }

        var mark = commands.Count;
        var timelineMark = _pendingTimeline.Count;
        var metricsMark = _pendingMetrics.Count;
        var ranMark = _pendingRan.Count;
        var cell = record.Cell;
        try
        {
            Apply(record, e, commands);
        }
        catch (Exception ex)
        {
            commands.RemoveRange(mark, commands.Count - mark);
            _pendingTimeline.RemoveRange(timelineMark, _pendingTimeline.Count - timelineMark);
            _pendingMetrics.RemoveRange(metricsMark, _pendingMetrics.Count - metricsMark);
            _pendingRan.RemoveRange(ranMark, _pendingRan.Count - ranMark);
            record.Cell = cell;
            var ue = _key ??= this.GetPrimaryKeyString();
            record.Quarantine = new QuarantineNote(e.GetType().Name, Clip(ex.GetType().Name + ": " + ex.Message), e.At, 0);
            _pendingMetrics.Add(_quarantined);
            _pendingTimeline.Add(new TimelineEntry(e.At, "Quarantined", $"the MC threw on {e.GetType().Name}: {record.Quarantine.Error}"));
            _log.LogError(ex, "UE {Ue} quarantined: the MC threw on its {Event}; its events are set aside until DELETE /api/v1/ues/{Ue}/quarantine", ue, e.GetType().Name, ue);
        }
    }

    /// <summary>Lifts the quarantine (the operator has looked); the caller then asks for a reconciliation.</summary>
    public async Task<bool> Release()
    {
        if (store.State.Quarantine is null)
        {
            return false;
        }

        var record = store.State.Snapshot();
        record.Quarantine = null;
        await PersistAsync(record);
        return true;
    }

    /// <summary>After storage came back wiped: writes what this activation knows (state and timeline).</summary>
    public async Task<bool> Repersist()
    {
        if (store.State.State is null && store.State.Quarantine is null)
        {
            return false;
        }

        var written = await store.RepersistAsync(this);
        if (history.State.Entries.Count > 0)
        {
            await history.RepersistAsync(this);
        }

        return written;
    }

    private static string Clip(string s) => s.Length <= 500 ? s : s[..500] + "...";

    /// <summary>Marker in <see cref="_pendingMetrics"/> for a quarantine (metrics are recorded once the state is persisted).</summary>
    private static readonly string _quarantined = "\0quarantined";

    private Task PersistAsync(UeRecord next) => store.PersistAsync(next, this);

    /// <summary>
    /// Persists the state, then carries out the commands. Outcomes the adapters know at once (a hypervisor that has
    /// nothing to wait for) are applied in this turn, before the UE's next event, and persisted again before their own
    /// commands leave; never in an endless loop (the in-process hosts' bound). Returns the working copy for what follows.
    /// </summary>
    private async Task<UeRecord> CommitAsync(UeRecord record, UeState? before, List<ControlCommand> commands)
    {
        var ue = _key ??= this.GetPrimaryKeyString();
        for (var round = 0; ; round++)
        {
            if (!record.Indexed && (record.State is not null || record.Quarantine is not null))
            {
                await GrainFactory.GetGrain<IUeIndexGrain>(UePartitions.PartitionOf(ue)).Add(ue);
                record.Indexed = true;
            }

            await PersistAsync(record);
            Persisted();
            record = record.Snapshot();
            await SyncSites(ue, before, record.State);
            var outcomes = await dispatcher.DispatchAsync(before, record.State, commands);
            if (outcomes.Count == 0 || round >= InlineMcHost.MaxImmediateRounds)
            {
                return record;
            }

            before = record.State;
            commands = [];
            foreach (var outcome in outcomes)
            {
                ApplyOrQuarantine(record, outcome, commands);
            }
        }
    }

    /// <summary>The timeline and the metrics follow the state once it is persisted (a failed write must not show events as done).</summary>
    private void Persisted()
    {
        var timelineLength = config.Options.Api.TimelineLength;
        foreach (var entry in _pendingTimeline)
        {
            Append(entry, timelineLength);
        }

        foreach (var m in _pendingMetrics)
        {
            if (ReferenceEquals(m, _quarantined))
            {
                resilience.Quarantined();
            }
            else
            {
                metrics.Event(m);
            }
        }

        foreach (var (outcome, duration) in _pendingMigrations)
        {
            metrics.MigrationEnded(outcome, duration);
        }

        if (_ran is not null && _pendingRan.Count > 0)
        {
            _ran.Observe(_pendingRan);
        }

        _pendingTimeline.Clear();
        _pendingMetrics.Clear();
        _pendingMigrations.Clear();
        _pendingRan.Clear();
    }

    private void Apply(UeRecord record, UeEvent e, List<ControlCommand> commands)
    {
        var prior = record.State;
        // Handover statistics are everyone's: the silo's learner takes the core's learning step around the decision, as
        // the simulator's lanes do (a retried event may count twice: statistics, not state).
        _learner?.Before(prior, e);
        var facts = _learner?.Facts;
        facts = _occupancy is null ? facts : _occupancy.With(facts);
        facts = _linkMigrations is null ? facts : _linkMigrations.With(facts);
        var decision = MobiScudControl.Decide(config.Current, prior, e, facts);
        _learner?.After(prior, decision.State);
        var issued = decision.Commands as ControlCommand[] ?? [.. decision.Commands];
        record.State = decision.State;
        record.Count++;
        if (_ran is not null)
        {
            _pendingRan.Add(new Mec.RanFact(e, prior, decision.State, record.Cell, record.NrCell));
        }

        record.Cell = e.Cell ?? record.Cell;
        record.NrCell = e.NrCell ?? record.NrCell;
        _pendingMetrics.Add(e.GetType().Name);
        _pendingTimeline.Add(new TimelineEntry(e.At, e.GetType().Name, null, e, WithoutNotifications(issued)));
        foreach (var c in issued)
        {
            if (c is Notify n)
            {
                _pendingTimeline.Add(new TimelineEntry(n.At, (uint)n.Kind < (uint)_kindNames.Length ? _kindNames[(int)n.Kind] : n.Kind.ToString(), n.Detail));
            }
        }

        commands.AddRange(issued);
        if (prior?.Migration is { } m && decision.State?.Migration?.Id != m.Id)
        {
            var outcome = decision.State?.PvmSite == m.To ? "completed" : m.Cancelling && !m.RetryLater ? "cancelled" : "failed";
            _pendingMigrations.Add((outcome, e.At - m.StartedAt));
        }
    }

    /// <summary>
    /// The commands an event's timeline entry keeps: notifications have entries of their own, and keeping their
    /// objects as well made them a sixth of the live heap (10k UEs x 64 entries all outlive gen-0).
    /// </summary>
    private static ControlCommand[]? WithoutNotifications(ControlCommand[] issued)
    {
        var kept = 0;
        foreach (var c in issued)
        {
            kept += c is Notify ? 0 : 1;
        }

        if (kept == issued.Length)
        {
            return issued.Length == 0 ? null : issued;
        }

        if (kept == 0)
        {
            return null;
        }

        var result = new ControlCommand[kept];
        var i = 0;
        foreach (var c in issued)
        {
            if (c is not Notify)
            {
                result[i++] = c;
            }
        }

        return result;
    }

    public Task<UeSnapshot> Get() => Task.FromResult(new UeSnapshot(store.State.State, store.State.Count, store.State.Quarantine, store.State.Cell, store.State.NrCell));

    public Task<TimelineEntry[]> Timeline() => Task.FromResult(history.State.Entries.ToArray());

    private void Append(TimelineEntry entry, int max)
    {
        var entries = history.State.Entries;
        entries.Add(entry);
        _historyDirty = true;
        if (entries.Count > max)
        {
            entries.RemoveRange(0, entries.Count - max);
        }
    }

    /// <summary>The sites that count this UE's PVM: where it is, and where it is migrating to (no allocation: this runs on every commit).</summary>
    private static (string? Here, string? To) SitesOf(UeState? s)
    {
        var here = s is { PvmStatus: not PvmStatus.None, PvmSite: { } site } ? site.Value : null;
        var to = s?.Migration?.To.Value;
        return (here, to == here ? null : to);
    }

    private static bool Holds((string? Here, string? To) sites, string site) => sites.Here == site || sites.To == site;

    private async Task SyncSites(string ue, UeState? before, UeState? after)
    {
        var was = SitesOf(before);
        var now = SitesOf(after);
        await Admit(now.Here);
        await Admit(now.To);
        await Release(was.Here);
        await Release(was.To);

        ValueTask Admit(string? site) =>
            // A migration target is admitted (or refused) when the StartMigration command is executed, a new PVM's site
            // when the CreatePvm is (with fallback to another site: the PVM is counted where PvmStarted says).
            site is not null && !Holds(was, site) && (after?.Migration?.To.Value != site || after.PvmSite?.Value == site)
                && !(after is { PvmStatus: PvmStatus.Creating } && after.PvmSite?.Value == site)
                ? sites.AdmitAsync(site, ue)
                : ValueTask.CompletedTask;

        ValueTask Release(string? site) => site is not null && !Holds(now, site) ? sites.ReleaseAsync(site, ue) : ValueTask.CompletedTask;
    }
}

