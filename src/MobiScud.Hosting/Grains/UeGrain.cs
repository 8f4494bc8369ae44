using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using Orleans.Concurrency;
using Orleans.Placement;

namespace MobiScud.Hosting.Grains;

/// <summary>Persisted per UE: the MC state, the last sequence applied from each pipeline, and a short timeline.</summary>
[GenerateSerializer]
public sealed class UeRecord : ISnapshotState<UeRecord>
{
    [Id(0)]
    public UeState? State { get; set; }

    /// <summary>Highest sequence applied per pipeline instance (a few kept), so retried deliveries apply once.</summary>
    [Id(1)]
    public Dictionary<string, long> Applied { get; set; } = [];

    [Id(2)]
    public List<TimelineEntry> Timeline { get; set; } = [];

    [Id(3)]
    public bool Indexed { get; set; }

    [Id(4)]
    public int Count { get; set; }

    /// <summary>The MC state and timeline entries are immutable: only the containers are copied.</summary>
    public UeRecord Snapshot() => new() { State = State, Applied = new(Applied), Timeline = [.. Timeline], Indexed = Indexed, Count = Count };
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
    McConfigProvider config,
    ICommandExecutor executor,
    SiteMembership sites,
    HostingMetrics metrics) : Grain, IUeGrain
{
    private const int KeptSources = 8;

    /// <summary>Outcomes a hypervisor reports at once are applied in the same turn, but never in an endless loop.</summary>
    private const int MaxImmediateRounds = 8;

    public async Task<int> Handle(Immutable<EventEnvelope[]> batch)
    {
        var record = store.State;
        var before = record.State;
        var commands = new List<ControlCommand>();
        var applied = 0;
        var pendingCommit = false;
        foreach (var envelope in batch.Value)
        {
            if (record.Applied.TryGetValue(envelope.Source, out var last) && envelope.Seq <= last)
            {
                continue;
            }

            if (envelope.Event is ReconcileRequested)
            {
                await config.RefreshAsync();
            }

            Apply(record, envelope.Event, commands);
            record.Applied[envelope.Source] = envelope.Seq;
            applied++;
            if (executor.ImmediateOutcomes && commands.Exists(c => c is CreatePvm or ResumePvm))
            {
                // The outcome must be applied before this UE's next event, as it would have been had it come first.
                await CommitAsync(record, before, commands);
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

        return applied;
    }

    /// <summary>
    /// Persists the state, then carries out the commands. Outcomes the adapters know at once (a hypervisor that has
    /// nothing to wait for) are applied in this turn, before the UE's next event, and persisted again before their own
    /// commands leave.
    /// </summary>
    private async Task CommitAsync(UeRecord record, UeState? before, List<ControlCommand> commands)
    {
        var ue = this.GetPrimaryKeyString();
        for (var round = 0; ; round++)
        {
            if (!record.Indexed && record.State is not null)
            {
                await GrainFactory.GetGrain<IUeIndexGrain>(UeIndex.PartitionOf(ue)).Add(ue);
                record.Indexed = true;
            }

            await store.WriteStateAsync();
            await SyncSites(ue, before, record.State);
            var outcomes = await executor.ExecuteAsync(before, record.State, commands);
            if (outcomes.Count == 0 || round >= MaxImmediateRounds)
            {
                return;
            }

            before = record.State;
            commands = [];
            foreach (var outcome in outcomes)
            {
                Apply(record, outcome, commands);
            }
        }
    }

    private void Apply(UeRecord record, UeEvent e, List<ControlCommand> commands)
    {
        var timelineLength = config.Options.Api.TimelineLength;
        var prior = record.State;
        var decision = MobiScudControl.Decide(config.Current, prior, e);
        record.State = decision.State;
        record.Count++;
        metrics.Event(e.GetType().Name);
        var issued = decision.Commands as ControlCommand[] ?? [.. decision.Commands];
        Append(record, new TimelineEntry(e.At, e.GetType().Name, null, e, issued), timelineLength);
        foreach (var c in issued)
        {
            if (c is Notify n)
            {
                Append(record, new TimelineEntry(n.At, n.Kind.ToString(), n.Detail), timelineLength);
            }
        }

        commands.AddRange(issued);
        if (prior?.Migration is { } m && decision.State?.Migration?.Id != m.Id)
        {
            var outcome = decision.State?.PvmSite == m.To ? "completed" : m.Cancelling && !m.RetryLater ? "cancelled" : "failed";
            metrics.MigrationEnded(outcome, e.At - m.StartedAt);
        }
    }

    public Task<UeSnapshot> Get() => Task.FromResult(new UeSnapshot(store.State.State, store.State.Count));

    public Task<TimelineEntry[]> Timeline() => Task.FromResult(store.State.Timeline.ToArray());

    private static void Append(UeRecord r, TimelineEntry entry, int max)
    {
        r.Timeline.Add(entry);
        if (r.Timeline.Count > max)
        {
            r.Timeline.RemoveRange(0, r.Timeline.Count - max);
        }
    }

    /// <summary>The sites that count this UE's PVM: where it is, and where it is migrating to.</summary>
    private static HashSet<string> SitesOf(UeState? s)
    {
        var sites = new HashSet<string>();
        if (s is { PvmStatus: not PvmStatus.None, PvmSite: { } here })
        {
            sites.Add(here.Value);
        }

        if (s?.Migration is { } m)
        {
            sites.Add(m.To.Value);
        }

        return sites;
    }

    private async Task SyncSites(string ue, UeState? before, UeState? after)
    {
        var was = SitesOf(before);
        var now = SitesOf(after);
        foreach (var site in now.Except(was))
        {
            // A migration target is admitted (or refused) when the StartMigration command is executed.
            if (after?.Migration?.To.Value != site || after.PvmSite?.Value == site)
            {
                await sites.AdmitAsync(site, ue);
            }
        }

        foreach (var site in was.Except(now))
        {
            await sites.ReleaseAsync(site, ue);
        }
    }
}

