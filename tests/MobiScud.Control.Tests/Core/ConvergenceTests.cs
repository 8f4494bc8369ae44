using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// Random interleavings of radio events and hypervisor outcomes (including a migration that completes although it
/// was cancelled) against a model of the hypervisor and switches that holds the truth. At every step the model
/// checks that the MC never duplicates or loses the PVM and only steers toward where the PVM really runs; at the
/// end, once everything has settled, the PVM is where the strategy wants it and steering points at it.
/// Switches also reject some steering (reported back as SteeringFailed, in any order with everything else): after every
/// step, a UE whose last steering failed has a retry pending or newer steering sent; once switches accept again, the
/// retries get the steering installed.
/// Every strategy runs, and under MobiScud every migration policy, with scheduling and admission on: the host runs
/// <see cref="MigrationScheduler"/> (one migration per link, small site capacities, a queue with deadlines) between
/// the MC and the hypervisor, other UEs' PVMs and migrations come and go and take places and links, and the MC is
/// told site occupancy and learned mobility as facts.
/// </summary>
public sealed class ConvergenceTests
{
    private static readonly EnbId[] _enbs = [EnbA1, EnbA2, EnbB1, EnbC1, Unserved];

    private static readonly UeId[] _others = [new("other-1"), new("other-2"), new("other-3"), new("other-4")];

    /// <summary>Lanes: core-anchored, static edge, and MobiScud under each policy, and predictive on the semi-Markov plan (with cell positions).</summary>
    private static readonly (Strategy Strategy, PolicyKind Policy, bool Smdp)[] _lanes =
    [
        (Strategy.CoreAnchored, PolicyKind.Always, false),
        (Strategy.StaticEdge, PolicyKind.Always, false),
        .. Enum.GetValues<PolicyKind>().Select(p => (Strategy.MobiScud, p, false)),
        (Strategy.MobiScud, PolicyKind.Predictive, true),
    ];

    // The fixture's cells on a line, each site at its first cell, so that the semi-Markov plan has rings to price.
    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [EnbA1] = (0, 0), [EnbA2] = (1, 0), [EnbB1] = (2, 0), [EnbC1] = (3, 0), [Unserved] = (4, 0) },
        new Dictionary<SiteId, EnbId> { [A] = EnbA1, [B] = EnbB1, [C] = EnbC1 },
        1);

    /// <summary>Seeds per lane: 30 in CI; MOBISCUD_CONVERGENCE_SEEDS for a longer run.</summary>
    private static int SeedsPerLane => int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_CONVERGENCE_SEEDS"), out var n) && n > 0 ? n : 30;

    public static TheoryData<int, Strategy, PolicyKind, bool> Seeds()
    {
        var data = new TheoryData<int, Strategy, PolicyKind, bool>();
        for (var seed = 0; seed < SeedsPerLane * _lanes.Length; seed++)
        {
            var (strategy, policy, smdp) = _lanes[seed % _lanes.Length];
            data.Add(seed, strategy, policy, smdp);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Any_interleaving_converges_with_exactly_one_pvm(int seed, Strategy strategy, PolicyKind policy, bool smdp)
    {
        var capacities = new Dictionary<SiteId, int> { [A] = 2, [B] = 2, [C] = 2 };
        var config = new McConfig(Sites, Core, strategy, idleSuspendAfter: TimeSpan.FromSeconds(3),
            migrationDeadline: TimeSpan.FromSeconds(8), migrationRetryAfter: TimeSpan.FromSeconds(2),
            steeringRetryAfter: TimeSpan.FromSeconds(1), steeringRetryMax: TimeSpan.FromSeconds(8))
        {
            // Short dwell and review times so that held-back moves happen within the run; cheap moves so that
            // myopic and the MDP migrate too.
            Policy = new PolicyConfig
            {
                Kind = policy,
                Dwell = TimeSpan.FromSeconds(2),
                ReviewAfter = TimeSpan.FromSeconds(1),
                PriorDwell = TimeSpan.FromSeconds(20),
                Slot = TimeSpan.FromSeconds(5),
                MinDepartures = 2,
                Cost = new WangCostModel(migrationScale: 0.1 + (seed % 3 * 0.4)),
                Plan = smdp ? PredictivePlan.Smdp : PredictivePlan.Mdp,
                PlanReview = TimeSpan.FromSeconds(2),
                PlanReviewCap = TimeSpan.FromSeconds(10),
                PlanResolve = TimeSpan.FromSeconds(2),
            },
            Sites = Line(capacities),
            Cells = smdp ? _cells : null,
        };
        var scheduler = new SchedulerConfig { Graph = config.Sites, MaxConcurrentPerLink = 1 };
        var world = new World(config, scheduler, new Random(seed));
        for (var step = 0; step < 80; step++)
        {
            world.Step();
        }

        world.SettleConnected();
        world.CheckConverged();
        Assert.Equal(smdp, world.Planned);
    }

    private sealed class World(McConfig config, SchedulerConfig schedulerConfig, Random random)
    {
        private readonly List<StartMigration> _queued = [];

        // Refused or dropped by the scheduler, the failure not yet delivered to the MC (a cancel meanwhile is a no-op).
        private readonly HashSet<MigrationId> _unstarted = [];
        private readonly List<MigrationId> _otherMigrations = [];
        private SchedulerState _scheduler = SchedulerState.Empty;
        private MobilityStats _mobility = MobilityStats.Empty;
        private bool _othersStopped;
        private readonly List<UeEvent> _outcomes = [];
        private readonly List<ScheduleTimer> _timers = [];
        private readonly Dictionary<MigrationId, (SiteId From, SiteId To)> _migrations = [];
        private readonly Dictionary<SiteId, SteeringIntent> _switches = [];
        private readonly HashSet<int> _rejected = [];
        private readonly HashSet<int> _failureHeard = [];
        private int _lastInstall = -1;
        private bool _switchesHealthy;
        private (SiteId Site, bool Running)? _instance;
        private bool _creating;
        private UeState? _state;
        private TimeSpan _now;
        private uint _teid = 0x100;

        public void Step()
        {
            var roll = random.Next(100);
            if (roll < 8)
            {
                OtherUe();
            }
            else if (roll < 40 && _outcomes.Count > 0)
            {
                var i = random.Next(_outcomes.Count);
                var outcome = _outcomes[i];
                _outcomes.RemoveAt(i);
                Deliver(outcome);
            }
            else if (roll < 50 && _timers.Count > 0)
            {
                var i = random.Next(_timers.Count);
                var t = _timers[i];
                _timers.RemoveAt(i);
                _now = t.Due > _now ? t.Due : _now;
                Schedule(new SchedulerTick(_now));
                Feed(new TimerFired(_now, Ue, t.Kind, t.Token));
            }
            else
            {
                Feed(RandomRadioEvent());
            }
        }

        public void SettleConnected()
        {
            _switchesHealthy = true;

            // Other UEs' load goes away, so that the places and links the MC wants are free in the end.
            _othersStopped = true;
            foreach (var m in _otherMigrations.ToList())
            {
                Schedule(new MigrationEnded(_now, m, Landed: false));
            }

            foreach (var other in _others)
            {
                Schedule(new PvmGone(_now, other));
            }

            Drain();
            var enb = _enbs[random.Next(_enbs.Length)];
            Feed(_state?.Connection switch
            {
                ConnectionState.Connected => Switch(enb),
                ConnectionState.Idle => new ServiceRequested(Tick(), Ue, enb, [BearerAt(enb, dlTeid: ++_teid)]),
                _ => new UeAttached(Tick(), Ue, null, UeIp, enb, null, [BearerAt(enb, dlTeid: ++_teid)]),
            });
            Drain();
        }

        public void CheckConverged()
        {
            var s = Assert.IsType<UeState>(_state);
            Assert.Equal(ConnectionState.Connected, s.Connection);
            Assert.NotNull(_instance);
            Assert.True(_instance.Value.Running);
            Assert.Equal(_instance.Value.Site, s.PvmSite);
            Assert.Null(s.Migration);
            Assert.Equal(MobiScudControl.DesiredSite(config, s, Facts), s.PvmSite);
            Assert.Empty(_queued);
            foreach (var (site, count) in _scheduler.Occupancy)
            {
                Assert.True(config.Sites!.Capacity(site) is not { } cap || count <= cap, $"{site} holds {count} PVMs");
            }
            var desired = MobiScudControl.DesiredSteering(config, s);
            if (desired is null)
            {
                Assert.Empty(_switches);
            }
            else
            {
                var installed = Assert.Single(_switches);
                Assert.Equal(desired.SwitchSite, installed.Key);
                Assert.True(MobiScudControl.SameSteering(desired, installed.Value));
                Assert.DoesNotContain(installed.Value.Version, _rejected);
                Assert.True(s.SteeringInstalled);
            }
        }

        private void Drain()
        {
            // Outcomes first, then timers (which may cause more outcomes), until nothing is left.
            for (var guard = 0; guard < 1000 && (_outcomes.Count > 0 || _timers.Count > 0); guard++)
            {
                if (_outcomes.Count > 0)
                {
                    var o = _outcomes[0];
                    _outcomes.RemoveAt(0);
                    Deliver(o);
                    continue;
                }

                var t = _timers.MinBy(x => x.Due)!;
                _timers.Remove(t);
                _now = t.Due > _now ? t.Due : _now;
                Schedule(new SchedulerTick(_now));
                Feed(new TimerFired(_now, Ue, t.Kind, t.Token));
            }

            Assert.Empty(_outcomes);
        }

        private TimeSpan Tick() => _now += TimeSpan.FromMilliseconds(random.Next(50, 1500));

        private UeEvent Switch(EnbId target) => random.Next(2) == 0
            ? new PathSwitched(Tick(), Ue, target, DownlinkAt(target, ++_teid))
            : new HandoverCompleted(Tick(), Ue, target, DownlinkAt(target, ++_teid));

        private UeEvent RandomRadioEvent()
        {
            var enb = _enbs[random.Next(_enbs.Length)];
            if (_state is null || _state.Connection == ConnectionState.Detached)
            {
                return new UeAttached(Tick(), Ue, null, UeIp, enb, null, [BearerAt(enb, dlTeid: ++_teid)]);
            }

            if (_state.Connection == ConnectionState.Idle)
            {
                return random.Next(4) == 0 ? new Detached(Tick(), Ue) : new ServiceRequested(Tick(), Ue, enb, [BearerAt(enb, dlTeid: ++_teid)]);
            }

            return random.Next(10) switch
            {
                < 5 => Switch(enb),
                5 => new HandoverPrepared(Tick(), Ue, _state.ServingEnb ?? enb, enb, HandoverKind.S1),
                6 => new HandoverCancelled(Tick(), Ue),
                7 => new UeReleasedToIdle(Tick(), Ue),
                8 => new Detached(Tick(), Ue),
                _ => new BearerModified(Tick(), Ue, new BearerDownlink(5, new GtpEndpoint(EnbAddress(enb), ++_teid))),
            };
        }

        private void Deliver(UeEvent outcome)
        {
            switch (outcome)
            {
                case MigrationCompleted done:
                    var (_, to) = _migrations[done.Migration];
                    _migrations.Remove(done.Migration);
                    _instance = (to, _instance!.Value.Running);
                    Schedule(new MigrationEnded(_now, done.Migration, Landed: true));
                    break;
                case MigrationFailed failed:
                    _unstarted.Remove(failed.Migration);
                    if (_migrations.Remove(failed.Migration))
                    {
                        Schedule(new MigrationEnded(_now, failed.Migration, Landed: false));
                    }

                    break;
                case PvmFailed refused:
                    // Admission found no room: the hypervisor never started it.
                    _creating = false;
                    break;
                case PvmStarted started:
                    _creating = false;
                    _instance = (started.Site, true);
                    break;
                case SteeringFailed failed:
                    _failureHeard.Add(failed.IntentVersion);
                    break;
            }

            Feed(outcome with { At = _now });
        }

        /// <summary>Whether the semi-Markov plan was solved (its lane decides on it).</summary>
        public bool Planned => _mobility.Smdp.Solution is not null;

        private PolicyFacts Facts => new() { Mobility = _mobility, SiteOccupancy = _scheduler.Occupancy };

        /// <summary>Another UE's PVM appears or goes, or one of its migrations starts or ends: load on places and links.</summary>
        private void OtherUe()
        {
            if (_othersStopped)
            {
                return;
            }

            var other = _others[random.Next(_others.Length)];
            var sites = new[] { A, B, C };
            switch (random.Next(4))
            {
                case 0 when !_scheduler.PvmAt.ContainsKey(other):
                    Schedule(new PlacementRequested(_now, new CreatePvm(other, PvmId.For(other), sites[random.Next(3)]), []));
                    break;
                case 1 when _otherMigrations.Count == 0 || random.Next(2) == 0:
                    Schedule(new PvmGone(_now, other));
                    break;
                case 2 when _scheduler.PvmAt.TryGetValue(other, out var at):
                    var to = sites[random.Next(3)];
                    var id = new MigrationId(other, random.Next(1_000_000));
                    if (to != at)
                    {
                        _otherMigrations.Add(id);
                        Schedule(new MigrationRequested(_now, new StartMigration(other, id, PvmId.For(other), at, to, MigrationReason.Handover), random.NextDouble(), _now + TimeSpan.FromSeconds(5)));
                    }

                    break;
                case 3 when _otherMigrations.Count > 0:
                    var ended = _otherMigrations[random.Next(_otherMigrations.Count)];
                    _otherMigrations.Remove(ended);
                    Schedule(new MigrationEnded(_now, ended, random.Next(2) == 0));
                    break;
            }
        }

        /// <summary>Runs the scheduler and carries out its grants as the host would.</summary>
        private void Schedule(SchedulerRequest request)
        {
            var step = MigrationScheduler.Step(schedulerConfig, _scheduler, request);
            _scheduler = step.State;
            foreach (var grant in step.Grants)
            {
                switch (grant)
                {
                    case PlacementGranted g when g.Create.Ue == Ue:
                        _outcomes.Add(new PvmStarted(_now, Ue, g.Create.Pvm, g.Create.Site, PvmIp));
                        break;
                    case PlacementRefused r when r.Create.Ue == Ue:
                        _outcomes.Add(new PvmFailed(_now, Ue, r.Create.Pvm, r.Create.Site, r.Reason));
                        break;
                    case MigrationGranted g when g.Start.Ue == Ue:
                        Assert.True(_queued.Remove(g.Start), "granted a migration that was not waiting");
                        Begin(g.Start);
                        break;
                    case MigrationRefused r when r.Start.Ue == Ue:
                        Assert.True(_queued.Remove(r.Start), "refused a migration that was not waiting");
                        _unstarted.Add(r.Start.Migration);
                        _outcomes.Add(new MigrationFailed(_now, r.Start.Migration, r.Reason));
                        break;
                    case MigrationDropped d when d.Start.Ue == Ue:
                        Assert.True(_queued.Remove(d.Start), "dropped a migration that was not waiting");
                        _unstarted.Add(d.Start.Migration);
                        _outcomes.Add(new MigrationFailed(_now, d.Start.Migration, "cancelled"));
                        break;
                    case MigrationRefused r:
                        _otherMigrations.Remove(r.Start.Migration);
                        break;
                    case MigrationDropped d:
                        _otherMigrations.Remove(d.Start.Migration);
                        break;
                }
            }
        }

        /// <summary>The hypervisor starts a granted migration.</summary>
        private void Begin(StartMigration start)
        {
            Assert.Equal((start.From, true), _instance);
            Assert.Empty(_migrations);
            _migrations[start.Migration] = (start.From, start.To);
            _outcomes.Add(random.Next(4) == 0
                ? new MigrationFailed(_now, start.Migration, "link down")
                : new MigrationCompleted(_now, start.Migration, new MigrationStats(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(30), 1, 3)));
        }

        private void Feed(UeEvent e)
        {
            if (MobilityStats.ObservationOf(_state, e, config.Cells) is { } seen)
            {
                _mobility = MobilityStats.Observe(_mobility, seen);
            }

            if (config.Policy.Plan == PredictivePlan.Smdp)
            {
                // As the hosts fold it: re-solved when due, before the decision.
                _mobility = _mobility with { Smdp = HandoverSmdp.Observe(_mobility.Smdp, config, _mobility, e.At) };
            }

            var decision = MobiScudControl.Decide(config, _state, e, Facts);
            _state = decision.State;
            foreach (var c in decision.Commands)
            {
                Execute(c);
            }

            if (_failureHeard.Contains(_lastInstall) && _state?.Steering is { } steering)
            {
                // The last steering sent failed and the MC still wants it: a retry must be on its way.
                Assert.Equal(_lastInstall, steering.Version);
                var fault = Assert.IsType<SteeringFault>(_state.SteeringFault);
                Assert.Contains(_timers, t => t.Kind == TimerKind.SteeringRetry && t.Token == fault.RetryTimer);
            }
        }

        private void Execute(ControlCommand command)
        {
            switch (command)
            {
                case CreatePvm create:
                    Assert.False(_creating || _instance is not null, $"duplicate PVM: create at {create.Site} while one exists at {_instance?.Site}");
                    _creating = true;
                    Schedule(new PlacementRequested(_now, create, [.. MigrationPolicies.Ranked(config, create.Site)]));
                    break;
                case ResumePvm resume:
                    Assert.Equal((resume.Site, false), _instance);
                    _outcomes.Add(new PvmStarted(_now, Ue, resume.Pvm, resume.Site, PvmIp));
                    break;
                case SuspendPvm suspend:
                    Assert.Equal((suspend.Site, true), _instance);
                    Assert.Empty(_migrations);
                    _instance = (suspend.Site, false);
                    break;
                case DestroyPvm:
                    Assert.Fail("the MC never destroys a user's PVM on its own");
                    break;
                case StartMigration start:
                    Assert.Equal((start.From, true), _instance);
                    Assert.Empty(_migrations);
                    Assert.Empty(_queued);
                    _queued.Add(start);
                    Schedule(new MigrationRequested(_now, start, start.ExpectedBenefit, _now + TimeSpan.FromSeconds(6)));
                    break;
                case CancelMigration cancel when _queued.Exists(q => q.Migration == cancel.Migration):
                    Schedule(new MigrationWithdrawn(_now, cancel.Migration));
                    break;
                case CancelMigration cancel when _unstarted.Contains(cancel.Migration):
                    break;
                case CancelMigration cancel:
                    Assert.True(_migrations.ContainsKey(cancel.Migration), "cancel for a migration that is not running");

                    // Usually the cancel wins; sometimes the switch-over already happened and completion stands.
                    if (random.Next(3) != 0)
                    {
                        _outcomes.RemoveAll(o => o is MigrationCompleted mc && mc.Migration == cancel.Migration || o is MigrationFailed mf && mf.Migration == cancel.Migration);
                        _outcomes.Add(new MigrationFailed(_now, cancel.Migration, "cancelled"));
                    }

                    break;
                case InstallSteering install:
                    Assert.NotNull(_instance);
                    Assert.Equal(_instance.Value.Site, install.Intent.PvmSite);
                    _switches[install.Intent.SwitchSite] = install.Intent;
                    Assert.Single(_switches);
                    Assert.True(install.Intent.Version > _lastInstall);
                    _lastInstall = install.Intent.Version;
                    if (!_switchesHealthy && random.Next(4) == 0)
                    {
                        // The switch refuses it (OFPT_ERROR), or a relay site does; the report comes back later.
                        _rejected.Add(install.Intent.Version);
                        var site = random.Next(2) == 0 ? install.Intent.SwitchSite : install.Intent.PvmSite;
                        _outcomes.Add(new SteeringFailed(_now, Ue, site, "rejected", install.Intent.Version));
                    }

                    break;
                case RemoveSteering remove:
                    Assert.True(_switches.Remove(remove.SwitchSite), $"remove at {remove.SwitchSite} where nothing is installed");
                    break;
                case ScheduleTimer timer:
                    _timers.Add(timer);
                    break;
            }
        }
    }
}
