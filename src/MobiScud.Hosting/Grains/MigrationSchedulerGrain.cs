using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace MobiScud.Hosting.Grains;

/// <summary>What the scheduler said about a migration asked for.</summary>
[GenerateSerializer]
public enum ScheduleVerdict
{
    /// <summary>Start it now.</summary>
    Granted,

    /// <summary>It waits for link budget: the gate that asked is told when it may start (or that it was refused).</summary>
    Queued,

    /// <summary>It will not run (see the reason).</summary>
    Refused,
}

[GenerateSerializer]
[Immutable]
public sealed record ScheduleAnswer([property: Id(0)] ScheduleVerdict Verdict, [property: Id(1)] string? Reason = null);

/// <summary>The scheduler's state as the API and tests see it.</summary>
[GenerateSerializer]
[Immutable]
public sealed record SchedulerView(
    [property: Id(0)] string[] Running,
    [property: Id(1)] string[] Queued,
    [property: Id(2)] Dictionary<string, int> LinkInFlight,
    [property: Id(3)] int MaxRunningOnOneLink);

/// <summary>Where the scheduler tells a silo that a migration it holds may start, or will not.</summary>
public interface IMigrationGateObserver : IGrainObserver
{
    [OneWay]
    Task Granted(StartMigration start);

    [OneWay]
    Task Refused(StartMigration start, string reason);
}

/// <summary>The cluster's one migration scheduler (key <see cref="Key"/>).</summary>
public interface IMigrationSchedulerGrain : IGrainWithStringKey
{
    public const string Key = "backhaul";

    Task<ScheduleAnswer> Request(StartMigration start, TimeSpan at, TimeSpan deadline, IMigrationGateObserver gate);

    /// <summary>True when it was still queued (it is dropped; the caller reports it cancelled).</summary>
    Task<bool> Withdraw(MigrationId migration, TimeSpan at);

    Task Ended(MigrationId migration, bool landed, TimeSpan at);

    Task<SchedulerView> Get();

    /// <summary>
    /// Migrations granted and not yet ended on each link, by index into the MC config's <see cref="SiteGraph.Links"/>
    /// (the scheduler's graph is built from those links in their order): the policies' <see cref="PolicyFacts.LinkMigrations"/>.
    /// </summary>
    Task<int[]> InFlightPerLink();
}

/// <summary>
/// The core's pure <see cref="MigrationScheduler"/> for the whole cluster: per-link budgets from `MobiScud:Backhaul`,
/// queued migrations by expected benefit with deadlines. Its state lives in this activation only (it is derived from the
/// UE states): a restarted service starts with an empty scheduler, cancels the migrations left running and observes
/// every PVM (Reconciler), and the MC asks again for each PVM not where it should be. When one silo of several
/// restarts, the MC lets go of that silo's migrations (PvmObserved) and each dispatcher reports them ended, which frees
/// their budget. Site capacity stays with the site grains' admission (checked before the scheduler is asked). It never
/// awaits a UE grain, so no call cycle can form: grants go to the asking silo's gate by one-way calls.
/// </summary>
public sealed class MigrationSchedulerGrain(
    IOptions<MobiScudOptions> options,
    McConfigProvider mc,
    TimeProvider clock,
    ILogger<MigrationSchedulerGrain> log) : Grain, IMigrationSchedulerGrain
{
    private readonly SchedulerConfig _config = options.Value.Backhaul.ToSchedulerConfig(mc.Current.Sites!);
    private readonly Dictionary<MigrationId, IMigrationGateObserver> _gates = [];
    private SchedulerState _state = SchedulerState.Empty;
    private IGrainTimer? _tick;

    public Task<ScheduleAnswer> Request(StartMigration start, TimeSpan at, TimeSpan deadline, IMigrationGateObserver gate)
    {
        var answer = new ScheduleAnswer(ScheduleVerdict.Refused, "no answer from the scheduler");
        foreach (var grant in Step(new MigrationRequested(at, start, start.ExpectedBenefit, deadline)))
        {
            switch (grant)
            {
                case MigrationGranted g when g.Start.Migration == start.Migration:
                    answer = new ScheduleAnswer(ScheduleVerdict.Granted);
                    break;
                case MigrationQueued q when q.Start.Migration == start.Migration:
                    _gates[start.Migration] = gate;
                    answer = new ScheduleAnswer(ScheduleVerdict.Queued, $"position {q.Position}");
                    log.LogDebug("migration {Migration} queued at position {Position}", start.Migration, q.Position);
                    break;
                case MigrationRefused r when r.Start.Migration == start.Migration:
                    answer = new ScheduleAnswer(ScheduleVerdict.Refused, r.Reason);
                    break;
            }
        }

        KeepWhileBusy();
        ArmTick();
        return Task.FromResult(answer);
    }

    public Task<bool> Withdraw(MigrationId migration, TimeSpan at)
    {
        var dropped = Step(new MigrationWithdrawn(at, migration)).OfType<MigrationDropped>().Any(d => d.Start.Migration == migration);
        _gates.Remove(migration);
        return Task.FromResult(dropped);
    }

    public async Task Ended(MigrationId migration, bool landed, TimeSpan at)
    {
        _gates.Remove(migration);
        await Tell(Step(new MigrationEnded(at, migration, landed)));
    }

    public Task<SchedulerView> Get()
    {
        var links = _config.Graph!.Links;
        var inFlight = _state.LinkInFlight.ToDictionary(kv => $"{links[kv.Key].A}-{links[kv.Key].B}", kv => kv.Value);
        return Task.FromResult(new SchedulerView(
            [.. _state.Running.Keys.Select(m => m.ToString()).Order(StringComparer.Ordinal)],
            [.. _state.Queue.Select(q => q.Start.Migration.ToString())],
            inFlight,
            inFlight.Count == 0 ? 0 : inFlight.Values.Max()));
    }

    public Task<int[]> InFlightPerLink()
    {
        var counts = new int[_config.Graph!.Links.Count];
        foreach (var (link, n) in _state.LinkInFlight)
        {
            counts[link] = n;
        }

        return Task.FromResult(counts);
    }

    private IReadOnlyList<SchedulerGrant> Step(SchedulerRequest request)
    {
        var step = MigrationScheduler.Step(_config, _state, request);
        _state = step.State;
        return step.Grants;
    }

    /// <summary>Grants and refusals of queued migrations go to the gate that asked (one-way: the grain waits for no silo).</summary>
    private async Task Tell(IReadOnlyList<SchedulerGrant> grants)
    {
        KeepWhileBusy();
        foreach (var grant in grants)
        {
            var (start, refusal) = grant switch
            {
                MigrationGranted g => (g.Start, (string?)null),
                MigrationRefused r => (r.Start, r.Reason),
                _ => (null, null),
            };
            if (start is null)
            {
                continue;
            }

            if (!_gates.Remove(start.Migration, out var gate))
            {
                // Nobody to start it (the asking silo went): free its budget again.
                log.LogWarning("migration {Migration} granted but no gate holds it: released", start.Migration);
                if (refusal is null)
                {
                    _state = MigrationScheduler.Step(_config, _state, new MigrationEnded(clock.ServiceNow(), start.Migration, false)).State;
                }

                continue;
            }

            await (refusal is null ? gate.Granted(start) : gate.Refused(start, refusal));
        }
    }

    /// <summary>Its state lives only in this activation: it must not be collected while it tracks a migration.</summary>
    private void KeepWhileBusy()
    {
        if (!_state.Running.IsEmpty || !_state.Queue.IsEmpty)
        {
            DelayDeactivation(TimeSpan.FromDays(1));
        }
    }

    /// <summary>Deadlines are checked while something waits; the timer stops when the queue is empty.</summary>
    private void ArmTick()
    {
        if (_state.Queue.IsEmpty || _tick is not null)
        {
            return;
        }

        var every = options.Value.Backhaul.TickEvery;
        _tick = this.RegisterGrainTimer(Tick, new GrainTimerCreationOptions(every, every) { Interleave = false });
    }

    private async Task Tick()
    {
        await Tell(Step(new SchedulerTick(clock.ServiceNow())));
        if (_state.Queue.IsEmpty)
        {
            _tick?.Dispose();
            _tick = null;
        }
    }
}
