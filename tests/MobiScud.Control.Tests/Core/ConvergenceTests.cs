using MobiScud.Control;
using MobiScud.Control.Model;
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
/// </summary>
public sealed class ConvergenceTests
{
    private static readonly EnbId[] Enbs = [EnbA1, EnbA2, EnbB1, EnbC1, Unserved];

    public static TheoryData<int, Strategy> Seeds()
    {
        var data = new TheoryData<int, Strategy>();
        for (var seed = 0; seed < 200; seed++)
        {
            data.Add(seed, (Strategy)(seed % 3));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Any_interleaving_converges_with_exactly_one_pvm(int seed, Strategy strategy)
    {
        var config = new McConfig(Sites, Core, strategy, idleSuspendAfter: TimeSpan.FromSeconds(3),
            migrationDeadline: TimeSpan.FromSeconds(8), migrationRetryAfter: TimeSpan.FromSeconds(2),
            steeringRetryAfter: TimeSpan.FromSeconds(1), steeringRetryMax: TimeSpan.FromSeconds(8));
        var world = new World(config, new Random(seed));
        for (var step = 0; step < 80; step++)
        {
            world.Step();
        }

        world.SettleConnected();
        world.CheckConverged();
    }

    private sealed class World(McConfig config, Random random)
    {
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
            if (roll < 40 && _outcomes.Count > 0)
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
            Drain();
            var enb = Enbs[random.Next(Enbs.Length)];
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
            Assert.Equal(MobiScudControl.DesiredSite(config, s), s.PvmSite);
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
            var enb = Enbs[random.Next(Enbs.Length)];
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
                    break;
                case MigrationFailed failed:
                    _migrations.Remove(failed.Migration);
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

        private void Feed(UeEvent e)
        {
            var decision = MobiScudControl.Decide(config, _state, e);
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
                    _outcomes.Add(new PvmStarted(_now, Ue, create.Pvm, create.Site, PvmIp));
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
                    _migrations[start.Migration] = (start.From, start.To);
                    _outcomes.Add(random.Next(4) == 0
                        ? new MigrationFailed(_now, start.Migration, "link down")
                        : new MigrationCompleted(_now, start.Migration, new MigrationStats(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(30), 1, 3)));
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
