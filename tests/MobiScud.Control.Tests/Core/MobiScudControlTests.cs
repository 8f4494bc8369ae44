using System.Collections.Frozen;
using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

public sealed class MobiScudControlTests
{
    [Fact]
    public void First_attach_creates_the_pvm_at_the_serving_site_and_steers_once_it_runs()
    {
        var f = new Fixture();
        var onAttach = f.Attach(EnbA1);
        Assert.Equal(new CreatePvm(Ue, PvmId.For(Ue), A), Single<CreatePvm>(onAttach));
        Assert.Empty(onAttach.OfType<InstallSteering>());

        var install = Single<InstallSteering>(f.Started(A));
        Assert.Equal(A, install.Intent.SwitchSite);
        Assert.Equal(A, install.Intent.PvmSite);
        Assert.Equal(PvmIp, install.Intent.PvmAddress);
        Assert.Equal(UeIp, install.Intent.UeAddress);
        Assert.Equal(0x2002u, Assert.Single(install.Intent.Bearers).Downlink.Teid);
        Assert.Equal(PvmStatus.Running, f.State!.PvmStatus);
    }

    [Fact]
    public void Handover_redirects_at_once_then_migrates_then_switches_steering_on_completion()
    {
        var f = new Fixture();
        f.Up(EnbA1);

        var onSwitch = f.PathSwitch(EnbB1, 0x3003);
        var redirect = Single<InstallSteering>(onSwitch);
        Assert.Equal(B, redirect.Intent.SwitchSite);
        Assert.Equal(A, redirect.Intent.PvmSite);
        Assert.Equal(0x3003u, redirect.Intent.Bearers[0].Downlink.Teid);
        Assert.Equal(new RemoveSteering(Ue, A), Single<RemoveSteering>(onSwitch));
        var migrate = Single<StartMigration>(onSwitch);
        Assert.Equal((A, B, MigrationReason.Handover), (migrate.From, migrate.To, migrate.Reason));

        // Redirect comes before the migration: the new eNB reaches the PVM while it is still copying.
        var order = onSwitch.ToList();
        Assert.True(order.IndexOf(redirect) < order.IndexOf(migrate));

        var onDone = f.Completed(migrate.Migration);
        var final = Single<InstallSteering>(onDone);
        Assert.Equal((B, B), (final.Intent.SwitchSite, final.Intent.PvmSite));
        Assert.True(final.Intent.Version > redirect.Intent.Version);
        Assert.Equal(B, f.State!.PvmSite);
        Assert.Null(f.State.Migration);
    }

    [Fact]
    public void Handover_within_a_site_moves_nothing_but_updates_the_downlink()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var commands = f.PathSwitch(EnbA2, 0x4004);
        Assert.Empty(commands.OfType<StartMigration>());
        Assert.Empty(commands.OfType<RemoveSteering>());
        var install = Single<InstallSteering>(commands);
        Assert.Equal((A, A), (install.Intent.SwitchSite, install.Intent.PvmSite));
        Assert.Equal(EnbAddress(EnbA2), install.Intent.Bearers[0].Downlink.Address);
    }

    [Fact]
    public void Failed_migration_keeps_the_pvm_at_the_source_with_consistent_steering_and_retries_later()
    {
        var f = new Fixture(new McConfig(Sites, Core, migrationRetryAfter: TimeSpan.FromSeconds(10)));
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var migrate = f.LastMigration();

        var onFail = f.Failed(migrate.Migration);
        Assert.Empty(onFail.OfType<InstallSteering>()); // the redirect to A is still right
        Assert.Empty(onFail.OfType<StartMigration>());
        var retry = Single<ScheduleTimer>(onFail);
        Assert.Equal(TimerKind.MigrationRetry, retry.Kind);
        Assert.Equal(A, f.State!.PvmSite);
        Assert.Equal((B, A), (f.State.Steering!.SwitchSite, f.State.Steering.PvmSite));

        var onRetry = f.On(_ => new TimerFired(retry.Due, Ue, TimerKind.MigrationRetry, retry.Token));
        var again = Single<StartMigration>(onRetry);
        Assert.Equal((A, B), (again.From, again.To));
        Assert.NotEqual(migrate.Migration, again.Migration);
    }

    [Fact]
    public void Second_handover_during_a_migration_lets_it_finish_then_moves_on()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var first = f.LastMigration();

        var onSecond = f.PathSwitch(EnbC1, 0x5005);
        Assert.Empty(onSecond.OfType<StartMigration>());
        Assert.Empty(onSecond.OfType<CancelMigration>());
        var redirect = Single<InstallSteering>(onSecond);
        Assert.Equal((C, A), (redirect.Intent.SwitchSite, redirect.Intent.PvmSite));

        var onDone = f.Completed(first.Migration);
        Assert.Equal((C, B), (Single<InstallSteering>(onDone).Intent.SwitchSite, Single<InstallSteering>(onDone).Intent.PvmSite));
        var next = Single<StartMigration>(onDone);
        Assert.Equal((B, C), (next.From, next.To));
        f.Completed(next.Migration);
        Assert.Equal(C, f.State!.PvmSite);
        Assert.Equal((C, C), (f.State.Steering!.SwitchSite, f.State.Steering.PvmSite));
    }

    [Fact]
    public void Ping_pong_back_before_the_migration_ends_cancels_it_and_the_pvm_stays()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var migrate = f.LastMigration();

        var onBack = f.PathSwitch(EnbA1, 0x6006);
        var cancel = Single<CancelMigration>(onBack);
        Assert.Equal(migrate.Migration, cancel.Migration);
        var steer = Single<InstallSteering>(onBack);
        Assert.Equal((A, A), (steer.Intent.SwitchSite, steer.Intent.PvmSite));

        var onCancelled = f.Failed(migrate.Migration, "cancelled");
        Assert.Empty(onCancelled.OfType<StartMigration>());
        Assert.Empty(onCancelled.OfType<ScheduleTimer>()); // a cancel we asked for is no failure to back off from
        Assert.Equal(A, f.State!.PvmSite);
        Assert.Null(f.State.Migration);
    }

    [Fact]
    public void Ping_pong_where_the_migration_completes_despite_the_cancel_moves_the_pvm_back()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var migrate = f.LastMigration();
        f.PathSwitch(EnbA1, 0x6006);

        // The switch-over won the race against migrate_cancel: the PVM is at B now, whatever we wanted.
        var onDone = f.Completed(migrate.Migration);
        Assert.Equal(B, f.State!.PvmSite);
        var steer = Single<InstallSteering>(onDone);
        Assert.Equal((A, B), (steer.Intent.SwitchSite, steer.Intent.PvmSite));
        var back = Single<StartMigration>(onDone);
        Assert.Equal((B, A), (back.From, back.To));
    }

    [Fact]
    public void Cancelled_s1_handover_moves_nothing()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var before = f.State;
        var onPrepared = f.On(t => new HandoverPrepared(t, Ue, EnbA1, EnbB1, HandoverKind.S1));
        Assert.Equal(NotificationKind.HandoverPreparing, Single<Notify>(onPrepared).Kind);
        var onCancel = f.On(t => new HandoverCancelled(t, Ue));
        Assert.Empty(onCancel.OfType<StartMigration>());
        Assert.Empty(onCancel.OfType<InstallSteering>());
        Assert.Equal(before!.ServingEnb, f.State!.ServingEnb);
        Assert.Equal(before.Steering, f.State.Steering);
        Assert.Null(f.State.PendingHandover);
    }

    [Fact]
    public void S1_handover_execution_is_only_news_and_a_cancel_after_it_still_moves_nothing()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var before = f.State;
        f.On(t => new HandoverPrepared(t, Ue, EnbA1, EnbB1, HandoverKind.S1));
        var prepared = f.State;
        var onExecuting = f.On(t => new HandoverExecuting(t, Ue, EnbB1));
        var notify = Assert.Single(onExecuting);
        Assert.Equal(NotificationKind.HandoverExecuting, Assert.IsType<Notify>(notify).Kind);
        Assert.Same(prepared, f.State); // nothing moves until the UE shows up at the target
        var onCancel = f.On(t => new HandoverCancelled(t, Ue));
        Assert.Equal(NotificationKind.HandoverCancelled, Single<Notify>(onCancel).Kind);
        Assert.Empty(onCancel.OfType<StartMigration>());
        Assert.Equal(before!.ServingEnb, f.State!.ServingEnb);
        Assert.Equal(before.Steering, f.State.Steering);
        Assert.Null(f.State.PendingHandover);

        // Without a prepared handover there is nothing to report.
        Assert.Empty(f.On(t => new HandoverExecuting(t, Ue, EnbB1)));
    }

    [Fact]
    public void S1_handover_completion_acts_like_a_path_switch()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.On(t => new HandoverPrepared(t, Ue, EnbA1, EnbB1, HandoverKind.S1));
        var onNotify = f.On(t => new HandoverCompleted(t, Ue, EnbB1, DownlinkAt(EnbB1, 0x7007)));
        Assert.Equal((A, B), (Single<StartMigration>(onNotify).From, Single<StartMigration>(onNotify).To));
        Assert.Equal(0x7007u, Single<InstallSteering>(onNotify).Intent.Bearers[0].Downlink.Teid);
    }

    [Fact]
    public void Detach_mid_migration_cancels_then_suspends_once_the_migration_has_ended()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var migrate = f.LastMigration();

        var onDetach = f.On(t => new Detached(t, Ue));
        Assert.Equal(migrate.Migration, Single<CancelMigration>(onDetach).Migration);
        Assert.Equal(new RemoveSteering(Ue, B), Single<RemoveSteering>(onDetach));
        Assert.Empty(onDetach.OfType<SuspendPvm>()); // not while QEMU is still copying

        var onCancelled = f.Failed(migrate.Migration, "cancelled");
        Assert.Equal(new SuspendPvm(Ue, PvmId.For(Ue), A), Single<SuspendPvm>(onCancelled));
        Assert.Null(f.State!.Steering);

        // Re-attach at B resumes the same PVM where it is, then moves it.
        var onAttach = f.Attach(EnbB1);
        Assert.Equal(new ResumePvm(Ue, PvmId.For(Ue), A), Single<ResumePvm>(onAttach));
        Assert.Empty(onAttach.OfType<CreatePvm>());
        var onUp = f.Started(A);
        Assert.Equal((A, B), (Single<StartMigration>(onUp).From, Single<StartMigration>(onUp).To));
    }

    [Fact]
    public void Detach_mid_migration_where_the_migration_completes_suspends_at_the_destination()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var migrate = f.LastMigration();
        f.On(t => new Detached(t, Ue));
        var onDone = f.Completed(migrate.Migration);
        Assert.Equal(new SuspendPvm(Ue, PvmId.For(Ue), B), Single<SuspendPvm>(onDone));
        Assert.Empty(onDone.OfType<StartMigration>());
    }

    [Fact]
    public void Idle_suspends_after_the_configured_time_and_service_request_resumes()
    {
        var f = new Fixture(new McConfig(Sites, Core, idleSuspendAfter: TimeSpan.FromMinutes(5)));
        f.Up(EnbA1);
        var onIdle = f.On(t => new UeReleasedToIdle(t, Ue));
        var timer = Single<ScheduleTimer>(onIdle);
        Assert.Equal(TimerKind.IdleSuspend, timer.Kind);
        Assert.Equal(new RemoveSteering(Ue, A), Single<RemoveSteering>(onIdle));
        Assert.Empty(onIdle.OfType<SuspendPvm>());

        Assert.Single(f.On(_ => new TimerFired(timer.Due, Ue, TimerKind.IdleSuspend, timer.Token)).OfType<SuspendPvm>());

        var onService = f.On(t => new ServiceRequested(t, Ue, EnbA2, [BearerAt(EnbA2, dlTeid: 0x8008)]));
        Assert.Equal(new ResumePvm(Ue, PvmId.For(Ue), A), Single<ResumePvm>(onService));
        var steer = Single<InstallSteering>(f.Started(A));
        Assert.Equal(0x8008u, steer.Intent.Bearers[0].Downlink.Teid);
    }

    [Fact]
    public void Stale_idle_timer_after_a_service_request_does_not_suspend()
    {
        var f = new Fixture(new McConfig(Sites, Core, idleSuspendAfter: TimeSpan.FromMinutes(5)));
        f.Up(EnbA1);
        var timer = Single<ScheduleTimer>(f.On(t => new UeReleasedToIdle(t, Ue)));
        f.On(t => new ServiceRequested(t, Ue, EnbA1, [BearerAt(EnbA1, dlTeid: 0x9009)]));
        Assert.Empty(f.On(_ => new TimerFired(timer.Due, Ue, TimerKind.IdleSuspend, timer.Token)));
        Assert.Equal(PvmStatus.Running, f.State!.PvmStatus);
    }

    [Fact]
    public void Migration_deadline_cancels_a_migration_that_runs_too_long()
    {
        var f = new Fixture(new McConfig(Sites, Core, migrationDeadline: TimeSpan.FromSeconds(20)));
        f.Up(EnbA1);
        var onSwitch = f.PathSwitch(EnbB1, 0x3003);
        var timer = Single<ScheduleTimer>(onSwitch);
        Assert.Equal(TimerKind.MigrationDeadline, timer.Kind);
        var onDeadline = f.On(_ => new TimerFired(timer.Due, Ue, TimerKind.MigrationDeadline, timer.Token));
        Assert.Equal(f.LastMigration().Migration, Single<CancelMigration>(onDeadline).Migration);
    }

    [Fact]
    public void A_crashed_pvm_is_recreated_at_the_desired_site()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var onCrash = f.On(t => new PvmFailed(t, Ue, PvmId.For(Ue), A, "qemu exited with 137"));
        Assert.Equal(new CreatePvm(Ue, PvmId.For(Ue), A), Single<CreatePvm>(onCrash));
        Assert.Equal(new RemoveSteering(Ue, A), Single<RemoveSteering>(onCrash));
    }

    [Fact]
    public void Destination_crash_mid_migration_is_a_failed_migration_and_the_source_keeps_serving()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        f.PathSwitch(EnbB1, 0x3003);
        var onCrash = f.On(t => new PvmFailed(t, Ue, PvmId.For(Ue), B, "killed"));
        Assert.Empty(onCrash.OfType<CreatePvm>());
        Assert.Equal(NotificationKind.MigrationFailed, Single<Notify>(onCrash).Kind);
        Assert.Equal((A, PvmStatus.Running), (f.State!.PvmSite, f.State.PvmStatus));
        Assert.Null(f.State.Migration);
    }

    [Fact]
    public void Static_edge_never_migrates_and_steers_across_sites()
    {
        var f = new Fixture(new McConfig(Sites, Core, Strategy.StaticEdge));
        f.Up(EnbA1);
        var onSwitch = f.PathSwitch(EnbB1, 0x3003);
        Assert.Empty(onSwitch.OfType<StartMigration>());
        var steer = Single<InstallSteering>(onSwitch);
        Assert.Equal((B, A), (steer.Intent.SwitchSite, steer.Intent.PvmSite));
    }

    [Fact]
    public void Core_anchored_places_the_pvm_in_the_core_and_never_steers()
    {
        var f = new Fixture(new McConfig(Sites, Core, Strategy.CoreAnchored));
        Assert.Equal(Core, Single<CreatePvm>(f.Attach(EnbA1)).Site);
        Assert.Empty(f.Started(Core).OfType<InstallSteering>());
        Assert.DoesNotContain(f.PathSwitch(EnbB1, 0x3003), c => c is StartMigration or InstallSteering);
    }

    [Fact]
    public void Unserved_enb_falls_back_to_the_core()
    {
        var f = new Fixture();
        Assert.Equal(Core, Single<CreatePvm>(f.Attach(Unserved)).Site);
    }

    [Fact]
    public void Pin_moves_the_pvm_by_hand_and_unpin_lets_it_follow_again()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var onPin = f.On(t => new PinRequested(t, Ue, C));
        var move = Single<StartMigration>(onPin);
        Assert.Equal((A, C, MigrationReason.Manual), (move.From, move.To, move.Reason));
        f.Completed(move.Migration);
        Assert.Empty(f.PathSwitch(EnbB1, 0x3003).OfType<StartMigration>());
        var onUnpin = f.On(t => new PinRequested(t, Ue, null));
        Assert.Equal((C, B), (Single<StartMigration>(onUnpin).From, Single<StartMigration>(onUnpin).To));
    }

    [Fact]
    public void Draining_a_site_moves_its_pvms_out_on_reconcile()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var drained = f.Config with { DrainedSites = new HashSet<SiteId> { A }.ToFrozenSet() };
        var decision = MobiScudControl.Decide(drained, f.State, new ReconcileRequested(f.Now + TimeSpan.FromSeconds(1), Ue));
        var move = Single<StartMigration>(decision.Commands);
        Assert.Equal((A, Core, MigrationReason.Drain), (move.From, move.To, move.Reason));
    }

    [Fact]
    public void Observed_state_after_a_restart_adopts_a_finished_migration_or_rolls_back()
    {
        var adopt = new Fixture();
        adopt.Up(EnbA1);
        adopt.PathSwitch(EnbB1, 0x3003);
        var onSeen = adopt.On(t => new PvmObserved(t, Ue, PvmId.For(Ue), B, true, PvmIp));
        Assert.Equal((B, B), (Single<InstallSteering>(onSeen).Intent.SwitchSite, Single<InstallSteering>(onSeen).Intent.PvmSite));
        Assert.Empty(onSeen.OfType<StartMigration>());

        var rollback = new Fixture();
        rollback.Up(EnbA1);
        rollback.PathSwitch(EnbB1, 0x3003);
        var first = rollback.LastMigration();
        var onRolledBack = rollback.On(t => new PvmObserved(t, Ue, PvmId.For(Ue), A, true, PvmIp));
        Assert.Equal(NotificationKind.MigrationFailed, onRolledBack.OfType<Notify>().First().Kind);
        var again = Single<StartMigration>(onRolledBack);
        Assert.NotEqual(first.Migration, again.Migration);
    }

    [Fact]
    public void Events_for_a_ue_never_seen_are_ignored()
    {
        var decision = MobiScudControl.Decide(new McConfig(Sites, Core), null, new PathSwitched(TimeSpan.Zero, Ue, EnbB1, DownlinkAt(EnbB1, 1)));
        Assert.Null(decision.State);
        Assert.Empty(decision.Commands);
    }

    [Fact]
    public void Stale_migration_outcomes_change_nothing()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var before = f.State;
        Assert.Empty(f.Completed(new MigrationId(Ue, 42)));
        Assert.Equal(before!.PvmSite, f.State!.PvmSite);
    }

    [Fact]
    public void Bearer_changes_reprogram_steering()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var added = Single<InstallSteering>(f.On(t => new BearerAdded(t, Ue, BearerAt(EnbA1, erab: 6, dlTeid: 0x6666))));
        Assert.Equal(2, added.Intent.Bearers.Count);
        var modified = Single<InstallSteering>(f.On(t => new BearerModified(t, Ue, new BearerDownlink(6, new GtpEndpoint(IPAddress.Parse("10.99.0.1"), 0x7777)))));
        Assert.Contains(modified.Intent.Bearers, b => b.Downlink.Teid == 0x7777);
        Assert.Single(Single<InstallSteering>(f.On(t => new BearerReleased(t, Ue, 6))).Intent.Bearers);
        Assert.Equal(new RemoveSteering(Ue, A), Single<RemoveSteering>(f.On(t => new BearerReleased(t, Ue, 5))));
    }

    [Fact]
    public void Config_rejects_nonsense_with_the_name_of_the_setting()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new McConfig(Sites, Core, idleSuspendAfter: TimeSpan.Zero));
        Assert.Contains("idleSuspendAfter", e.Message);
    }
}
