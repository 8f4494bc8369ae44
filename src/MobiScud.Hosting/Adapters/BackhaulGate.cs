using System.Threading.Channels;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// This silo's side of the cluster's migration scheduler (<see cref="MigrationSchedulerGrain"/>): asks it before a
/// migration starts, holds the ones it queues and starts them on this silo's hypervisor when it grants them, and
/// reports refusals and withdrawals to the MC as MigrationFailed on <see cref="Outcomes"/>. Whether a held migration
/// is withdrawn or started is decided here, under one lock, so a cancel and a grant that cross never both happen.
/// A held migration the scheduler said nothing about by its deadline (the grain's silo went, and with it the queue) is
/// given up here too, so that the MC retries it rather than wait for ever.
/// </summary>
public sealed class BackhaulGate : BackgroundService, IMigrationGate, IMigrationGateObserver
{
    private readonly IGrainFactory _grains;
    private readonly IPvmBackend _pvms;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _deadline;
    private readonly TimeSpan _grace;
    private readonly ILogger _log;
    private readonly object _lock = new();
    private readonly Dictionary<MigrationId, Held> _held = [];
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();
    private Task<IMigrationGateObserver>? _self;

    public BackhaulGate(IGrainFactory grains, IPvmBackend pvms, TimeProvider clock, MobiScudOptions options, ILogger<BackhaulGate> log)
    {
        _grains = grains;
        _pvms = pvms;
        _clock = clock;
        _deadline = options.Backhaul.QueueDeadline ?? options.MigrationDeadline ?? TimeSpan.FromSeconds(60);
        _grace = (2 * options.Backhaul.TickEvery) + TimeSpan.FromSeconds(1);
        _log = log;
    }

    /// <summary>A held migration; <see cref="Starting"/> is set while the grant is being carried out.</summary>
    private sealed class Held(StartMigration start, TimeSpan deadline)
    {
        public StartMigration Start { get; } = start;

        /// <summary>The scheduler refuses it by then; past this and a grace, the gate stops waiting.</summary>
        public TimeSpan Deadline { get; } = deadline;

        public Task? Starting { get; set; }
    }

    /// <summary>Refusals and withdrawals (MigrationFailed), and what a backend reported at once for a migration started late.</summary>
    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    private IMigrationSchedulerGrain Scheduler => _grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key);

    /// <summary>This gate as an observer the grain can call. Orleans refuses to make one inside a grain's turn (where the
    /// dispatcher runs), so it is made on the thread pool, once.</summary>
    private Task<IMigrationGateObserver> Self
    {
        get
        {
            lock (_lock)
            {
                return _self ??= Task.Run(() => _grains.CreateObjectReference<IMigrationGateObserver>(this));
            }
        }
    }

    public async Task<bool> RequestAsync(StartMigration start, CancellationToken ct = default)
    {
        // Held before asking: a grant may arrive before the answer does.
        var now = _clock.ServiceNow();
        lock (_lock)
        {
            _held[start.Migration] = new Held(start, now + _deadline);
        }

        var answer = await Scheduler.Request(start, now, now + _deadline, await Self);
        switch (answer.Verdict)
        {
            case ScheduleVerdict.Granted:
                lock (_lock)
                {
                    _held.Remove(start.Migration);
                }

                return true;
            case ScheduleVerdict.Queued:
                _log.LogInformation("migration {Migration} {From} -> {To} waits for link budget ({Position})", start.Migration, start.From, start.To, answer.Reason);
                return false;
            default:
                lock (_lock)
                {
                    _held.Remove(start.Migration);
                }

                _log.LogWarning("migration {Migration} refused by the scheduler: {Reason}", start.Migration, answer.Reason);
                _outcomes.Writer.TryWrite(new MigrationFailed(_clock.ServiceNow(), start.Migration, $"scheduler: {answer.Reason}"));
                return false;
        }
    }

    public async Task<bool> WithdrawAsync(CancelMigration cancel, CancellationToken ct = default)
    {
        Task? starting;
        lock (_lock)
        {
            if (!_held.TryGetValue(cancel.Migration, out var held))
            {
                return false;
            }

            starting = held.Starting;
            if (starting is null)
            {
                _held.Remove(cancel.Migration);
            }
        }

        if (starting is not null)
        {
            // The grant is being carried out: once it is on the backend, the cancel goes there.
            await starting;
            return false;
        }

        // Whatever the scheduler says (it may have granted it meanwhile), this silo will not start it: the grant finds
        // nothing held and releases the budget.
        await Scheduler.Withdraw(cancel.Migration, _clock.ServiceNow());
        _outcomes.Writer.TryWrite(new MigrationFailed(_clock.ServiceNow(), cancel.Migration, "cancelled while queued for link budget"));
        return true;
    }

    public async Task EndedAsync(MigrationId migration, bool landed, CancellationToken ct = default)
    {
        lock (_lock)
        {
            _held.Remove(migration);
        }

        await Scheduler.Ended(migration, landed, _clock.ServiceNow());
    }

    public async Task Granted(StartMigration start)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (!_held.TryGetValue(start.Migration, out var held) || held.Starting is not null)
            {
                held = null;
            }
            else
            {
                held.Starting = done.Task;
            }

            if (held is null)
            {
                done.SetResult();
            }
        }

        if (done.Task.IsCompleted)
        {
            // Withdrawn here meanwhile: give the budget back.
            await Scheduler.Ended(start.Migration, false, _clock.ServiceNow());
            return;
        }

        try
        {
            _log.LogInformation("migration {Migration} {From} -> {To} starts: link budget freed", start.Migration, start.From, start.To);
            if (await _pvms.ExecuteAsync(start) is { } outcome)
            {
                _outcomes.Writer.TryWrite(outcome);
            }
        }
        catch (Exception e)
        {
            _log.LogError(e, "migration {Migration} could not be started", start.Migration);
            _outcomes.Writer.TryWrite(new MigrationFailed(_clock.ServiceNow(), start.Migration, $"start failed: {e.Message}"));
        }
        finally
        {
            lock (_lock)
            {
                _held.Remove(start.Migration);
            }

            done.SetResult();
        }
    }

    public Task Refused(StartMigration start, string reason)
    {
        bool held;
        lock (_lock)
        {
            held = _held.Remove(start.Migration);
        }

        if (held)
        {
            _log.LogWarning("migration {Migration} refused by the scheduler: {Reason}", start.Migration, reason);
            _outcomes.Writer.TryWrite(new MigrationFailed(_clock.ServiceNow(), start.Migration, $"scheduler: {reason}"));
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SweepAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: held migrations die with the service; the next start's reconciliation asks again.
        }
    }

    /// <summary>Gives up held migrations the scheduler has said nothing about well past their deadline.</summary>
    public async Task SweepAsync()
    {
        var now = _clock.ServiceNow();
        List<StartMigration> expired;
        lock (_lock)
        {
            expired = [.. _held.Values.Where(h => h.Starting is null && now > h.Deadline + _grace).Select(h => h.Start)];
            foreach (var start in expired)
            {
                _held.Remove(start.Migration);
            }
        }

        foreach (var start in expired)
        {
            _log.LogWarning("migration {Migration} given up: no word from the scheduler by its deadline", start.Migration);
            _outcomes.Writer.TryWrite(new MigrationFailed(now, start.Migration, "scheduler: no grant by the deadline"));
            try
            {
                await Scheduler.Withdraw(start.Migration, now);
            }
            catch (Exception e)
            {
                // It is no longer held here: a late grant finds nothing and gives the budget back.
                _log.LogWarning("withdrawing {Migration} from the scheduler failed: {Error}", start.Migration, e.Message);
            }
        }
    }
}
