using System.Net;
using System.Threading.Channels;
using MobiScud.Cloud.Simulated;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// A hypervisor fleet in memory, driven by the wall clock (sped up by <see cref="HypervisorOptions.TimeScale"/>):
/// PVMs boot after a delay, live migrations follow the pre-copy model of MobiScud.Cloud over one link per site
/// pair, and outcomes arrive later as events. It outlives a service restart in tests, which is how a migration
/// can finish or fail while the MC is down. A PVM exists at one site at a time: creating an existing PVM reports
/// where it already runs instead of making a second one.
/// </summary>
public sealed class SimulatedHypervisor : IPvmBackend, IPreCopyHost, Dashboard.IMigrationProgressSource
{
    private const long MiB = 1024 * 1024;
    private readonly object _lock = new();
    private readonly HypervisorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger? _log;
    private readonly long _t0;
    private readonly PreCopyMigrationModel _model;
    private readonly Dictionary<(SiteId, SiteId), int> _links = [];
    private readonly Dictionary<PvmId, Vm> _vms = [];
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();
    private int _addresses;
    private long _pending;
    private static readonly TimeSpan _resolution = TimeSpan.FromMilliseconds(1);
    private readonly PriorityQueue<Action, TimeSpan> _due = new();
    private ITimer? _timer;
    private TimeSpan _armedFor = TimeSpan.MaxValue;

    /// <summary>Its outcomes always come later, from the model.</summary>
    private static readonly Task<UeEvent?> _noOutcome = Task.FromResult<UeEvent?>(null);

    public SimulatedHypervisor(HypervisorOptions options, TimeProvider? time = null, ILogger? log = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = log;
        _t0 = _time.GetTimestamp();
        _model = new PreCopyMigrationModel(this);
    }

    /// <summary>The dashboard's bars: bytes sent and left in the round from the pre-copy model, brought up to now.</summary>
    public IReadOnlyDictionary<string, (long Sent, long Remaining, double ExpectedDowntimeMs)> Progress()
    {
        lock (_lock)
        {
            _model.Flush(ModelNow());
            var result = new Dictionary<string, (long, long, double)>();
            foreach (var vm in _vms.Values)
            {
                if (vm is { Migration: { } m, MigrationId: { } id })
                {
                    var rate = m.CurrentRate;
                    result[id.ToString()] = ((long)m.BytesSent, (long)m.BytesRemaining, rate > 0 ? m.BytesRemaining / rate * 1000 : double.NaN);
                }
            }

            return result;
        }
    }

    /// <summary>Migrations finished (for tests and the bench).</summary>
    public int MigrationsCompleted { get; private set; }

    public int MigrationsFailed { get; private set; }

    /// <summary>No timer is pending and no outcome is waiting for the MC's pump (the bench waits for this to settle).</summary>
    public bool Idle => Interlocked.Read(ref _pending) == 0 && _outcomes.Reader.Count == 0;

    /// <summary>Its outcomes, from the model's timers. Written while no MC listens too (a restart drops them: it reads the inventory).</summary>
    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    public Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        lock (_lock)
        {
            switch (command)
            {
                case CreatePvm c:
                    Create(c);
                    break;
                case ResumePvm r:
                    if (_vms.TryGetValue(r.Pvm, out var resumed))
                    {
                        After(_options.BootTime / 4, () =>
                        {
                            resumed.Running = true;
                            return new PvmStarted(_time.ServiceNow(), r.Ue, r.Pvm, resumed.Site, resumed.Address);
                        });
                    }
                    else
                    {
                        Post(new PvmFailed(_time.ServiceNow(), r.Ue, r.Pvm, r.Site, "no such PVM to resume"));
                    }

                    break;
                case SuspendPvm s when _vms.TryGetValue(s.Pvm, out var suspended):
                    suspended.Running = false;
                    break;
                case DestroyPvm d when _vms.TryGetValue(d.Pvm, out var destroyed):
                    if (destroyed.Migration is { } gone)
                    {
                        _model.Cancel(ModelNow(), gone);
                    }

                    _vms.Remove(d.Pvm);
                    break;
                case StartMigration m:
                    StartMigration(m);
                    break;
                case CancelMigration c when _vms.TryGetValue(c.Pvm, out var vm) && vm.MigrationId == c.Migration && vm.Migration is { } running:
                    _model.Cancel(ModelNow(), running);
                    vm.Migration = null;
                    vm.MigrationId = null;
                    vm.MigratingTo = null;
                    MigrationsFailed++;
                    Post(new MigrationFailed(_time.ServiceNow(), c.Migration, "cancelled"));
                    break;
            }
        }

        return _noOutcome;
    }

    public Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<PvmInventoryItem>>(
                [.. _vms.Values.Select(v => new PvmInventoryItem(v.Ue, v.Pvm, v.Site, v.Running, v.Address, v.MigrationId, v.MigratingTo))]);
        }
    }

    void IPreCopyHost.WakeAt(TimeSpan at, int link, long version)
    {
        Later(at - ModelNow(), () => _model.OnWake(ModelNow(), link, version));
    }

    void IPreCopyHost.Finished(PreCopyMigration migration, PreCopyResult result)
    {
        var vm = (Vm)migration.Tag!;
        Later(result.CompletesAt - ModelNow(), () =>
        {
            if (vm.Migration != migration || vm.MigrationId is not { } id || vm.MigratingTo is not { } to)
            {
                return;
            }

            vm.Migration = null;
            vm.MigrationId = null;
            vm.MigratingTo = null;
            if (_options.FailMigrationsTo.Contains(to.Value))
            {
                MigrationsFailed++;
                Post(new MigrationFailed(_time.ServiceNow(), id, $"link to {to} broke during stop-and-copy"));
                return;
            }

            // Switch-over: the guest now runs at the destination only.
            vm.Site = to;
            MigrationsCompleted++;
            Post(new MigrationCompleted(_time.ServiceNow(), id, new MigrationStats(result.TotalTime, result.Downtime, result.BytesSent, result.Rounds)));
        });
    }

    private void Create(CreatePvm c)
    {
        if (_vms.TryGetValue(c.Pvm, out var existing))
        {
            After(TimeSpan.Zero, () => new PvmStarted(_time.ServiceNow(), c.Ue, c.Pvm, existing.Site, existing.Address));
            return;
        }

        var n = ++_addresses;
        var vm = new Vm(c.Ue, c.Pvm, c.Site, new IPAddress([192, 168, (byte)(n >> 8), (byte)n]));
        _vms[c.Pvm] = vm;
        After(_options.BootTime, () =>
        {
            vm.Running = true;
            return new PvmStarted(_time.ServiceNow(), c.Ue, c.Pvm, vm.Site, vm.Address);
        });
    }

    private void StartMigration(StartMigration m)
    {
        if (!_vms.TryGetValue(m.Pvm, out var vm) || vm.Site != m.From || vm.MigrationId is not null)
        {
            var why = vm is null ? "no such PVM" : vm.MigrationId is not null ? "already migrating" : $"PVM is at {vm.Site}, not {m.From}";
            Post(new MigrationFailed(_time.ServiceNow(), m.Migration, why));
            return;
        }

        if (!_links.TryGetValue((m.From, m.To), out var link))
        {
            link = _model.AddLink(_options.LinkMbps * 1e6 / 8);
            _links[(m.From, m.To)] = link;
        }

        var memory = _options.MemoryMiB * MiB;
        var parameters = new PreCopyParameters(
            memory,
            _options.DirtyMiBps * MiB,
            memory / 4,
            TimeSpan.FromMilliseconds(300),
            30,
            _options.LinkMbps * 1e6 / 8,
            TimeSpan.FromMilliseconds(20));
        vm.MigrationId = m.Migration;
        vm.MigratingTo = m.To;
        vm.Migration = _model.Start(ModelNow(), link, parameters, vm);
    }

    private TimeSpan ModelNow() => _time.GetElapsedTime(_t0) * _options.TimeScale;

    private void After(TimeSpan simulated, Func<UeEvent?> outcome) => Later(simulated, () =>
    {
        if (outcome() is { } e)
        {
            Post(e);
        }
    });

    /// <summary>
    /// Runs the action after a simulated delay. All pending actions share one timer and a queue ordered by due time
    /// (thousands of migrations each wake the model several times; a Task.Delay each cost a timer, two tasks and a
    /// closure). As with Task.Delay, a delay under a millisecond of real time runs at once.
    /// </summary>
    private void Later(TimeSpan simulated, Action action)
    {
        var real = simulated <= TimeSpan.Zero ? TimeSpan.Zero : simulated / _options.TimeScale;
        Interlocked.Increment(ref _pending);
        lock (_lock)
        {
            var due = _time.GetElapsedTime(_t0) + real;
            _due.Enqueue(action, due);
            Arm(due);
        }
    }

    private void Arm(TimeSpan due)
    {
        if (due >= _armedFor)
        {
            return;
        }

        _armedFor = due;
        var wait = due - _time.GetElapsedTime(_t0);
        _timer ??= _time.CreateTimer(static self => ((SimulatedHypervisor)self!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(wait < _resolution ? TimeSpan.Zero : wait, Timeout.InfiniteTimeSpan);
    }

    private void Fire()
    {
        lock (_lock)
        {
            _armedFor = TimeSpan.MaxValue;
            // Actions may queue more actions (the model waking itself): those due now run in this same pass.
            while (_due.TryPeek(out var action, out var due) && due - _time.GetElapsedTime(_t0) < _resolution)
            {
                _due.Dequeue();
                try
                {
                    action();
                }
                catch (Exception e)
                {
                    _log?.LogError(e, "simulated hypervisor action failed");
                }
                finally
                {
                    Interlocked.Decrement(ref _pending);
                }
            }

            if (_due.TryPeek(out _, out var next))
            {
                Arm(next);
            }
        }
    }

    /// <summary>Never waits: the channel is unbounded, and its reader is the MC's pump, not the caller's turn.</summary>
    private void Post(UeEvent e) => _outcomes.Writer.TryWrite(e);

    private sealed class Vm(UeId ue, PvmId pvm, SiteId site, IPAddress address)
    {
        public UeId Ue { get; } = ue;

        public PvmId Pvm { get; } = pvm;

        public SiteId Site { get; set; } = site;

        public IPAddress Address { get; } = address;

        public bool Running { get; set; }

        public MigrationId? MigrationId { get; set; }

        public SiteId? MigratingTo { get; set; }

        public PreCopyMigration? Migration { get; set; }
    }
}
