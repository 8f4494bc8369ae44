using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control;

/// <summary>
/// The MobiScud Control core: a pure function of (configuration, one UE's state, an event) to (next state, commands).
/// It never does I/O and never reads a clock. Each event first updates the facts (where the UE is, what the
/// hypervisor reported), then one reconciliation compares what should be with what was last asked for and emits
/// the difference. Because every outcome is judged against the facts and not against a remembered plan, any
/// ordering of handovers, cancels, detaches and migration outcomes converges.
/// </summary>
public static class MobiScudControl
{
    public static Decision Decide(McConfig config, UeState? state, UeEvent e) => Decide(config, state, e, null);

    /// <summary>
    /// One decision, with what the host knows about everyone else (learned mobility, site and link load) for the
    /// migration policy and admission; null facts mean none are known.
    /// </summary>
    public static Decision Decide(McConfig config, UeState? state, UeEvent e, PolicyFacts? facts)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(e);
        facts ??= PolicyFacts.None;
        var commands = default(CommandBuffer);
        var next = Apply(config, state, e, ref commands);
        if (next is null)
        {
            return new Decision(state, commands.ToArray());
        }

        // Apply's copies already carry the event's time (a second copy per decision only to set it was a quarter of what
        // a decision allocated); the few branches that return the state as it was get it here.
        if (next.LastEventAt != e.At)
        {
            next = next with { LastEventAt = e.At };
        }

        next = Reconcile(config, facts, next, e.At, ref commands);
        next = MoveOutcomeStats.Track(config, facts, state, next);
        return new Decision(next, commands.ToArray());
    }

    /// <summary>Where the PVM should live now, given the strategy and policy, a pin, the serving eNB and the facts (as of the UE's last event).</summary>
    public static SiteId DesiredSite(McConfig config, UeState s, PolicyFacts? facts = null) =>
        Verdict(config, facts ?? PolicyFacts.None, s, s.LastEventAt).Target;

    /// <summary>The policy's full answer: where, what it is worth, and when to look again.</summary>
    public static PolicyVerdict Verdict(McConfig config, PolicyFacts facts, UeState s, TimeSpan at)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(s);
        if (s.PinnedSite is { } pinned)
        {
            return new PolicyVerdict(pinned);
        }

        switch (config.Strategy)
        {
            case Strategy.CoreAnchored:
                return new PolicyVerdict(config.CoreSite);
            case Strategy.StaticEdge:
                // The home site is wherever the PVM was first placed; only a drain moves it.
                if (s.PvmSite is { } home)
                {
                    return new PolicyVerdict(config.DrainedSites.Contains(home) ? config.CoreSite : home);
                }

                return new PolicyVerdict(s.ServingEnb is { } first ? MigrationPolicies.Place(config, facts, config.SwitchSiteFor(first)) : config.CoreSite);
            default:
                if (s.ServingEnb is not { } enb)
                {
                    return new PolicyVerdict(s.PvmSite ?? config.CoreSite);
                }

                if (s.PvmSite is not { } here || config.DrainedSites.Contains(here))
                {
                    // A new PVM, or one that must leave a drained site: placed near the user whatever the policy.
                    return new PolicyVerdict(MigrationPolicies.Place(config, facts, config.SwitchSiteFor(enb)));
                }

                return MigrationPolicies.Decide(config, facts, s, enb, here, at);
        }
    }

    private static UeState? Apply(McConfig config, UeState? s, UeEvent e, ref CommandBuffer commands)
    {
        switch (e)
        {
            case UeAttached a:
                return (s ?? NewUe(a.Ue)) with
                {
                    Imsi = a.Imsi ?? s?.Imsi,
                    UeAddress = a.UeAddress,
                    Connection = ConnectionState.Connected,
                    ServingEnb = a.Enb,
                    Bearers = [.. a.Bearers],
                    PendingHandover = null,
                    IdleTimer = 0,
                    IdleExpired = false,
                    ServingSince = a.At,
                    SiteSince = a.At,
                    HandoversAway = 0,
                    LastEventAt = e.At,
                };
            case ServiceRequested r:
                // A UE first seen at a service request (a capture that starts mid-session) is adopted without its IP.
                var sameSite = s?.ServingEnb is { } before && config.SwitchSiteFor(before) == config.SwitchSiteFor(r.Enb);
                return (s ?? NewUe(r.Ue)) with
                {
                    Connection = ConnectionState.Connected,
                    ServingEnb = r.Enb,
                    Bearers = [.. r.Bearers],
                    PendingHandover = null,
                    IdleTimer = 0,
                    IdleExpired = false,
                    ServingSince = s?.ServingEnb == r.Enb ? s.ServingSince : r.At,
                    SiteSince = sameSite ? s!.SiteSince : r.At,
                    LastEventAt = e.At,
                };
        }

        if (s is null)
        {
            // Anything else about a UE we never saw attach cannot be acted on.
            return null;
        }

        switch (e)
        {
            case BearerAdded b:
                return s with { Bearers = [.. s.Bearers.Where(x => x.ERabId != b.Bearer.ERabId), b.Bearer], LastEventAt = e.At };
            case BearerModified m:
                return s with { Bearers = WithDownlinks(s.Bearers, [m.Downlink], keepUnlisted: true), LastEventAt = e.At };
            case BearerReleased r:
                return s with { Bearers = [.. s.Bearers.Where(x => x.ERabId != r.ERabId)], LastEventAt = e.At };
            case HandoverPrepared p:
                commands.Add(new Notify(s.Ue, e.At, NotificationKind.HandoverPreparing, $"{p.Kind} handover {p.Source} -> {p.Target}") { Source = p.Source, Target = p.Target });
                return s with { PendingHandover = new PendingHandover(p.Source, p.Target, p.Kind, p.At), LastEventAt = e.At };
            case HandoverExecuting x:
                // Only news for subscribers: nothing moves until the UE shows up at the target.
                if (s.PendingHandover is { } executing)
                {
                    commands.Add(new Notify(s.Ue, e.At, NotificationKind.HandoverExecuting, $"{executing.Kind} handover {executing.Source} -> {x.Target}") { Source = executing.Source, Target = x.Target });
                }

                return null;
            case HandoverCancelled:
                commands.Add(new Notify(s.Ue, e.At, NotificationKind.HandoverCancelled, s.PendingHandover is { } ph ? $"{ph.Source} -> {ph.Target}" : "no handover pending")
                {
                    Source = s.PendingHandover?.Source,
                    Target = s.PendingHandover?.Target,
                });
                return s with { PendingHandover = null, LastEventAt = e.At };
            case HandoverCompleted c:
                return Moved(config, s, c.Target, c.Downlinks, HandoverKind.S1, e.At, ref commands);
            case PathSwitched p:
                return Moved(config, s, p.Target, p.Downlinks, HandoverKind.X2, e.At, ref commands);
            case UeReleasedToIdle:
                return ReleasedToIdle(config, s, e.At, ref commands);
            case Detached:
                return s with
                {
                    Connection = ConnectionState.Detached,
                    Bearers = [],
                    PendingHandover = null,
                    IdleTimer = 0,
                    IdleExpired = false,
                    LastEventAt = e.At,
                };
            case MigrationCompleted done when s.Migration is { } m && m.Id == done.Migration:
                commands.Add(new Notify(s.Ue, e.At, NotificationKind.MigrationCompleted,
                    $"{m.From} -> {m.To} in {done.Stats.TotalTime.TotalMilliseconds:0} ms, downtime {done.Stats.Downtime.TotalMilliseconds:0} ms, {done.Stats.BytesSent} bytes"));
                return s with { PvmSite = m.To, Migration = null, MigrationTimer = 0, HandoversAway = 0, LastEventAt = e.At };
            case MigrationFailed failed when s.Migration is { } m && m.Id == failed.Migration:
                return MigrationEnded(config, s, m, failed.Reason, e.At, ref commands);
            case PvmStarted started:
                return s with
                {
                    PvmStatus = PvmStatus.Running,
                    PvmSite = started.Site,
                    PvmAddress = started.Address ?? s.PvmAddress,
                    LastEventAt = e.At,
                };
            case PvmFailed crashed:
                return PvmCrashed(config, s, crashed, ref commands);
            case SteeringFailed failed:
                return SteeringFailedOn(config, s, failed, ref commands);
            case TimerFired t:
                return TimerFiredOn(config, s, t, ref commands);
            case PinRequested pin:
                return s with { PinnedSite = pin.Site, LastEventAt = e.At };
            case ReconcileRequested:
                // Forget what we think is installed so that steering is sent again; the switch adapter is idempotent.
                return s with { Steering = null, SteeringFault = null, MigrationBlockedUntil = TimeSpan.Zero, LastEventAt = e.At };
            case PvmObserved seen:
                return Observed(s, seen, ref commands);
            case EnbIdentified named:
                // Only the name changes: the UE is where it was, so no handover is counted and no dwell time restarts.
                return s with
                {
                    ServingEnb = s.ServingEnb == named.Was ? named.Now : s.ServingEnb,
                    PendingHandover = s.PendingHandover is { } renamed
                        ? renamed with { Source = renamed.Source == named.Was ? named.Now : renamed.Source, Target = renamed.Target == named.Was ? named.Now : renamed.Target }
                        : null,
                };
            default:
                // Stale outcomes (a migration we no longer track, progress reports) change nothing.
                return null;
        }
    }

    private static UeState NewUe(UeId ue) => new() { Ue = ue, Connection = ConnectionState.Detached };

    private static UeState Moved(McConfig config, UeState s, EnbId target, IReadOnlyList<BearerDownlink> downlinks, HandoverKind kind, TimeSpan at, ref CommandBuffer commands)
    {
        var targetSite = config.SwitchSiteFor(target);
        var interSite = s.ServingEnb is not { } from || config.SwitchSiteFor(from) != targetSite;

        // Formatted without ToString on the ids: no throw-away strings per handover.
        var detail = s.ServingEnb is { } source ? $"{kind} handover {source} -> {target}" : $"{kind} handover ? -> {target}";
        commands.Add(new Notify(s.Ue, at, NotificationKind.HandoverExecuted, detail) { Source = s.ServingEnb, Target = target });
        var away = interSite ? s.HandoversAway + 1 : s.HandoversAway;

        // Bearers the target did not take over are released by the MME; an empty list carries no such news.
        return s with
        {
            ServingEnb = target,
            Connection = ConnectionState.Connected,
            Bearers = WithDownlinks(s.Bearers, downlinks, keepUnlisted: downlinks.Count == 0),
            PendingHandover = null,
            IdleTimer = 0,
            IdleExpired = false,
            ServingSince = target == s.ServingEnb ? s.ServingSince : at,
            PreviousEnb = target == s.ServingEnb ? s.PreviousEnb : s.ServingEnb,
            PreviousSince = target == s.ServingEnb ? s.PreviousSince : s.ServingSince,
            EarlierEnb = target == s.ServingEnb ? s.EarlierEnb : s.PreviousEnb,
            HeadingSteps = target == s.ServingEnb ? s.HeadingSteps : MigrationPolicies.HeadingStepsAfter(config, s, target),
            RecentTurns = target == s.ServingEnb ? s.RecentTurns : MigrationPolicies.RecentTurnsAfter(config, s, target),
            SiteSince = interSite ? at : s.SiteSince,

            // Back at the PVM's site: the count starts again (what Reconcile does, here to save it a copy).
            HandoversAway = away != 0 && targetSite == s.PvmSite ? 0 : away,
            LastEventAt = at,
        };
    }

    private static ImmutableArray<Bearer> WithDownlinks(ImmutableArray<Bearer> bearers, IReadOnlyList<BearerDownlink> downlinks, bool keepUnlisted)
    {
        // One array, filled by index (no builder, no boxed enumerator of the list per bearer), then handed to the
        // immutable array without a copy: nothing else holds it.
        var result = new Bearer[bearers.Length];
        var n = 0;
        foreach (var bearer in bearers)
        {
            BearerDownlink? update = null;
            for (var i = 0; i < downlinks.Count; i++)
            {
                if (downlinks[i].ERabId == bearer.ERabId)
                {
                    update = downlinks[i];
                }
            }

            if (update is not null)
            {
                result[n++] = bearer with { Downlink = update.Downlink };
            }
            else if (keepUnlisted)
            {
                result[n++] = bearer;
            }
        }

        if (n < result.Length)
        {
            Array.Resize(ref result, n);
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(result);
    }

    private static UeState ReleasedToIdle(McConfig config, UeState s, TimeSpan at, ref CommandBuffer commands)
    {
        if (config.IdleSuspendAfter is not { } after)
        {
            return s with { Connection = ConnectionState.Idle, PendingHandover = null, LastEventAt = at };
        }

        var token = s.TimerToken + 1;
        commands.Add(new ScheduleTimer(s.Ue, at + after, TimerKind.IdleSuspend, token));
        return s with
        {
            Connection = ConnectionState.Idle,
            PendingHandover = null,
            TimerToken = token,
            IdleTimer = token,
            IdleExpired = false,
            LastEventAt = at,
        };
    }

    private static UeState MigrationEnded(McConfig config, UeState s, MigrationInFlight m, string reason, TimeSpan at, ref CommandBuffer commands)
    {
        // The PVM never left the source: the steering that points there stays right.
        if (m.Cancelling && !m.RetryLater)
        {
            commands.Add(new Notify(s.Ue, at, NotificationKind.MigrationCancelled, $"{m.From} -> {m.To}: {reason}"));
            return s with { Migration = null, MigrationTimer = 0, LastEventAt = at };
        }

        var token = s.TimerToken + 1;
        commands.Add(new Notify(s.Ue, at, NotificationKind.MigrationFailed, $"{m.From} -> {m.To}: {reason}"));
        commands.Add(new ScheduleTimer(s.Ue, at + config.MigrationRetryAfter, TimerKind.MigrationRetry, token));
        return s with
        {
            Migration = null,
            MigrationTimer = 0,
            TimerToken = token,
            MigrationBlockedUntil = at + config.MigrationRetryAfter,
            LastEventAt = at,
        };
    }

    private static UeState PvmCrashed(McConfig config, UeState s, PvmFailed crashed, ref CommandBuffer commands)
    {
        if (s.Migration is { } m && crashed.Site == m.To && crashed.Site != s.PvmSite)
        {
            // The destination died: that is a failed migration, the source still runs.
            return MigrationEnded(config, s, m, $"destination failed: {crashed.Reason}", crashed.At, ref commands);
        }

        if (crashed.Site != s.PvmSite)
        {
            return s;
        }

        commands.Add(new Notify(s.Ue, crashed.At, NotificationKind.PvmDestroyed, $"PVM at {crashed.Site} failed: {crashed.Reason}"));
        return s with
        {
            // A creation that failed (admission refused everywhere, a boot failure) must not be asked for again at once: a
            // refusal would loop. A PVM that ran and crashed is created again at once.
            CreateBlockedUntil = s.PvmStatus == PvmStatus.Creating ? crashed.At + config.MigrationRetryAfter : s.CreateBlockedUntil,
            PvmStatus = PvmStatus.None,
            PvmSite = null,
            PvmAddress = null,
            Migration = null,
            MigrationTimer = 0,
            LastEventAt = crashed.At,
        };
    }

    private static UeState? TimerFiredOn(McConfig config, UeState s, TimerFired t, ref CommandBuffer commands)
    {
        switch (t.Kind)
        {
            case TimerKind.IdleSuspend when t.Token == s.IdleTimer && s.Connection == ConnectionState.Idle:
                return s with { IdleTimer = 0, IdleExpired = true, LastEventAt = t.At };
            case TimerKind.MigrationDeadline when t.Token == s.MigrationTimer && s.Migration is { Cancelling: false } m:
                commands.Add(new CancelMigration(s.Ue, m.Id, s.Pvm, m.From, m.To));
                commands.Add(new Notify(s.Ue, t.At, NotificationKind.MigrationFailed, $"{m.From} -> {m.To}: deadline of {config.MigrationDeadline} passed, cancelling"));

                // When the cancel lands it counts as a failure: retried only after the back-off.
                return s with { Migration = m with { Cancelling = true, RetryLater = true }, MigrationTimer = 0, LastEventAt = t.At };
            case TimerKind.MigrationRetry when t.At >= s.MigrationBlockedUntil:
                return s with { MigrationBlockedUntil = TimeSpan.Zero, LastEventAt = t.At };
            case TimerKind.PolicyReview when t.Token == s.PolicyTimer:
                // Reconciliation asks the policy again (the dwell may now be reached).
                return s with { PolicyTimer = 0, LastEventAt = t.At };
            case TimerKind.SteeringRetry when s.SteeringFault is { } fault && t.Token == fault.RetryTimer && s.Steering is { } failed && failed.Version == fault.Intent.Version:
                if (!SameSteering(DesiredSteering(config, s), failed))
                {
                    // The facts moved on without an event that re-steered (a configuration change): reconciliation sends the new steering.
                    return s with { SteeringFault = null, LastEventAt = t.At };
                }

                // The same flows again under a new version, so that a late failure report for the old one is told apart.
                var retry = failed with { Version = s.SteeringVersion + 1 };
                commands.Add(new InstallSteering(s.Ue, retry));
                return s with { Steering = retry, SteeringVersion = retry.Version, SteeringFault = null, LastEventAt = t.At };
            default:
                return null;
        }
    }

    /// <summary>
    /// A switch rejected or did not confirm steering. Only a failure of the steering last sent counts (an older intent's
    /// failure is stale: the newer one replaced its flows), and only the first report of it (each site of a redirected
    /// UE may report). The steering stays recorded as sent, so that a later change still removes whatever part of it
    /// the switch did take, and it is sent again after a back-off that doubles per consecutive failure.
    /// </summary>
    private static UeState? SteeringFailedOn(McConfig config, UeState s, SteeringFailed failed, ref CommandBuffer commands)
    {
        if (s.Steering is not { } current || current.Version != failed.IntentVersion || s.SteeringFault is not null)
        {
            return null;
        }

        var failures = s.SteeringFailures + 1;
        var delay = config.SteeringRetryDelay(failures);
        var token = s.TimerToken + 1;
        commands.Add(new Notify(s.Ue, failed.At, NotificationKind.SteeringFailed,
            $"steering v{current.Version} at {failed.SwitchSite} failed ({failures} in a row): {failed.Reason}; retry in {delay.TotalSeconds:0.###} s"));
        commands.Add(new ScheduleTimer(s.Ue, failed.At + delay, TimerKind.SteeringRetry, token));
        return s with
        {
            TimerToken = token,
            SteeringFailures = failures,
            SteeringFault = new SteeringFault(current, failed.SwitchSite, failed.Reason, failed.At, token, failed.At + delay),
            LastEventAt = failed.At,
        };
    }

    private static UeState Observed(UeState s, PvmObserved seen, ref CommandBuffer commands)
    {
        if (s.Migration is { } m)
        {
            var adopted = seen.Site == m.To;
            commands.Add(new Notify(s.Ue, seen.At, adopted ? NotificationKind.MigrationCompleted : NotificationKind.MigrationFailed,
                adopted ? $"{m.From} -> {m.To} finished while the MC was away: adopted" : $"{m.From} -> {m.To} did not finish: rolled back to {seen.Site?.ToString() ?? "nowhere"}"));
        }

        return s with
        {
            PvmSite = seen.Site,
            PvmStatus = seen.Site is null ? PvmStatus.None : seen.Running ? PvmStatus.Running : PvmStatus.Suspended,
            PvmAddress = seen.Address ?? s.PvmAddress,
            Migration = null,
            MigrationTimer = 0,
            Steering = null,
            SteeringFault = null,
            LastEventAt = seen.At,
        };
    }

    private static UeState Reconcile(McConfig config, PolicyFacts facts, UeState s, TimeSpan at, ref CommandBuffer commands)
    {
        if (s.HandoversAway != 0 && s.ServingEnb is { } enb && config.SwitchSiteFor(enb) == s.PvmSite)
        {
            // Back at the PVM's site: the count of handovers away starts again.
            s = s with { HandoversAway = 0 };
        }

        s = ReconcileLifecycle(config, facts, s, at, ref commands);
        s = ReconcileSteering(config, s, at, ref commands);
        return ReconcileMigration(config, facts, s, at, ref commands);
    }

    private static bool WantsRunning(UeState s) =>
        s.Connection == ConnectionState.Connected || (s.Connection == ConnectionState.Idle && !s.IdleExpired);

    private static UeState ReconcileLifecycle(McConfig config, PolicyFacts facts, UeState s, TimeSpan at, ref CommandBuffer commands)
    {
        if (s.PvmStatus == PvmStatus.None && s.Connection != ConnectionState.Detached && at < s.CreateBlockedUntil)
        {
            // Backing off after a failed creation: the review timer brings reconciliation back when it may try again.
            return ArmReview(s, new PolicyVerdict(s.PvmSite ?? config.CoreSite, 0, s.CreateBlockedUntil), at, ref commands);
        }

        if (s.PvmStatus == PvmStatus.None && s.Connection != ConnectionState.Detached)
        {
            var site = Verdict(config, facts, s with { PvmSite = null }, at).Target;
            commands.Add(new CreatePvm(s.Ue, s.Pvm, site));
            commands.Add(new Notify(s.Ue, at, NotificationKind.PvmCreated, $"at {site}"));
            return s with { PvmStatus = PvmStatus.Creating, PvmSite = site, PvmAddress = null };
        }

        if (WantsRunning(s) && s.PvmStatus == PvmStatus.Suspended && s.PvmSite is { } resumeAt)
        {
            commands.Add(new ResumePvm(s.Ue, s.Pvm, resumeAt));
            commands.Add(new Notify(s.Ue, at, NotificationKind.PvmResumed, $"at {resumeAt}"));
            return s with { PvmStatus = PvmStatus.Resuming };
        }

        // A migrating PVM is suspended only once the migration has ended (cancelled below, or finished).
        if (!WantsRunning(s) && s.PvmStatus == PvmStatus.Running && s.Migration is null && s.PvmSite is { } suspendAt)
        {
            commands.Add(new SuspendPvm(s.Ue, s.Pvm, suspendAt));
            commands.Add(new Notify(s.Ue, at, NotificationKind.PvmSuspended, $"at {suspendAt}"));
            return s with { PvmStatus = PvmStatus.Suspended };
        }

        return s;
    }

    /// <summary>The steering that should be on the serving switch now, or null when none should be.</summary>
    public static SteeringIntent? DesiredSteering(McConfig config, UeState s) => DesiredSteering(config, s, s.SteeringVersion);

    private static SteeringIntent? DesiredSteering(McConfig config, UeState s, int version)
    {
        return Steered(config, s, out var enb, out var ueAddress, out var pvmSite, out var switchSite)
            ? new SteeringIntent(s.Ue, ueAddress, enb, s.Bearers, switchSite, pvmSite, s.PvmAddress, version)
            : null;
    }

    /// <summary>
    /// The parts of the steering a UE should have now; false when none should be on: not connected, no bearers or
    /// address, no running PVM, or a PVM in the core (reached through the EPC as it is) or an eNB with no edge switch.
    /// </summary>
    private static bool Steered(McConfig config, UeState s, out EnbId enb, out IPAddress ueAddress, out SiteId pvmSite, out SiteId switchSite)
    {
        enb = default;
        ueAddress = IPAddress.None;
        pvmSite = switchSite = default;
        if (s.Connection != ConnectionState.Connected
            || s.ServingEnb is not { } servingEnb
            || s.UeAddress is not { } address
            || s.Bearers.IsEmpty
            || s.PvmStatus != PvmStatus.Running
            || s.PvmSite is not { } site
            || site == config.CoreSite)
        {
            return false;
        }

        (enb, ueAddress, pvmSite, switchSite) = (servingEnb, address, site, config.SwitchSiteFor(servingEnb));
        return switchSite != config.CoreSite;
    }

    /// <summary>Two intents that program the same flows (the version aside).</summary>
    public static bool SameSteering(SteeringIntent? a, SteeringIntent? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        return a.Ue == b.Ue
            && a.UeAddress.Equals(b.UeAddress)
            && a.Enb == b.Enb
            && a.SwitchSite == b.SwitchSite
            && a.PvmSite == b.PvmSite
            && Equals(a.PvmAddress, b.PvmAddress)
            && a.Bearers.SequenceEqual(b.Bearers);
    }

    /// <summary>
    /// <see cref="SameSteering"/>(<see cref="DesiredSteering"/>(s), s.Steering) without building the desired intent: most
    /// events leave the steering as it is, and the intent built only to be compared was an allocation per decision.
    /// </summary>
    private static bool SteeringUnchanged(McConfig config, UeState s)
    {
        if (!Steered(config, s, out var enb, out var ueAddress, out var pvmSite, out var switchSite))
        {
            return s.Steering is null;
        }

        if (s.Steering is not { } old
            || !(s.Ue == old.Ue
                && ueAddress.Equals(old.UeAddress)
                && enb == old.Enb
                && switchSite == old.SwitchSite
                && pvmSite == old.PvmSite
                && Equals(s.PvmAddress, old.PvmAddress)
                && s.Bearers.Length == old.Bearers.Count))
        {
            return false;
        }

        var comparer = EqualityComparer<Bearer>.Default;
        for (var i = 0; i < s.Bearers.Length; i++)
        {
            if (!comparer.Equals(s.Bearers[i], old.Bearers[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static UeState ReconcileSteering(McConfig config, UeState s, TimeSpan at, ref CommandBuffer commands)
    {
        if (SteeringUnchanged(config, s))
        {
            return s;
        }

        // Built with the version it is sent under (the comparison ignores it): one intent, not one and a copy.
        var version = s.SteeringVersion + 1;
        var desired = DesiredSteering(config, s, version);
        if (SameSteering(desired, s.Steering))
        {
            return s;
        }

        if (s.Steering is { } old && (desired is null || old.SwitchSite != desired.SwitchSite))
        {
            commands.Add(new RemoveSteering(s.Ue, old.SwitchSite));
        }

        if (desired is null)
        {
            return s with { Steering = null, SteeringFault = null, SteeringFailures = 0 };
        }

        // Other steering than the one that kept failing starts the back-off afresh; a re-send of the same (after a
        // ReconcileRequested) keeps counting.
        var failures = s.Steering is null ? s.SteeringFailures : 0;
        commands.Add(new InstallSteering(s.Ue, desired));
        if (desired.PvmSite != desired.SwitchSite)
        {
            commands.Add(new Notify(s.Ue, at, NotificationKind.SteeringRedirected, $"{desired.Enb} at {desired.SwitchSite} reaches the PVM at {desired.PvmSite}"));
        }

        return s with { Steering = desired, SteeringVersion = version, SteeringFault = null, SteeringFailures = failures };
    }

    private static UeState ReconcileMigration(McConfig config, PolicyFacts facts, UeState s, TimeSpan at, ref CommandBuffer commands)
    {
        if (s.Migration is { Cancelling: false } m)
        {
            var target = Verdict(config, facts, s, at).Target;
            var leaving = s.Connection == ConnectionState.Detached || s.IdleExpired;
            if (leaving || target == m.From)
            {
                // Back where it started (ping-pong) or nobody to serve: stop copying; the PVM is still at the source.
                commands.Add(new CancelMigration(s.Ue, m.Id, s.Pvm, m.From, m.To));
                return s with { Migration = m with { Cancelling = true }, MigrationTimer = 0 };
            }

            // Toward the same or a third site: let it finish; the next reconciliation moves it on if needed.
            return s;
        }

        if (s.Migration is not null
            || s.PvmStatus != PvmStatus.Running
            || s.PvmSite is not { } here
            || at < s.MigrationBlockedUntil
            || (config.Strategy != Strategy.MobiScud && s.PinnedSite is null && !config.DrainedSites.Contains(here)))
        {
            return s;
        }

        var verdict = Verdict(config, facts, s, at);
        var to = verdict.Target;
        if (to == here)
        {
            return ArmReview(s, verdict, at, ref commands);
        }

        var sequence = s.MigrationSequence + 1;
        var id = new MigrationId(s.Ue, sequence);
        var reason = s.PinnedSite is not null ? MigrationReason.Manual
            : config.DrainedSites.Contains(here) ? MigrationReason.Drain
            : s.ServingEnb is { } serving && config.SwitchSiteFor(serving) == here && s.PendingHandover is not null ? MigrationReason.Prepared
            : MigrationReason.Handover;
        commands.Add(new StartMigration(s.Ue, id, s.Pvm, here, to, reason) { ExpectedBenefit = verdict.Benefit });
        commands.Add(new Notify(s.Ue, at, NotificationKind.MigrationStarted, $"{here} -> {to} ({reason})"));
        var migration = new MigrationInFlight(id, here, to, at, Cancelling: false);
        if (config.MigrationDeadline is { } deadline)
        {
            // One copy of the state with the migration and its deadline timer.
            var token = s.TimerToken + 1;
            commands.Add(new ScheduleTimer(s.Ue, at + deadline, TimerKind.MigrationDeadline, token));
            return s with { MigrationSequence = sequence, Migration = migration, TimerToken = token, MigrationTimer = token };
        }

        return s with { MigrationSequence = sequence, Migration = migration };
    }

    /// <summary>
    /// The policy holds the PVM back for now but may follow later without a new event (hysteresis dwell, predictive
    /// review): one review timer at a time (an earlier one replaces it); when it fires, reconciliation asks again and may
    /// arm the next.
    /// </summary>
    private static UeState ArmReview(UeState s, PolicyVerdict verdict, TimeSpan at, ref CommandBuffer commands)
    {
        if (verdict.ReviewAt is not { } due || s.Connection != ConnectionState.Connected || (s.PolicyTimer != 0 && s.PolicyReviewAt <= due))
        {
            // Nothing to review, or a review at least as early is already armed.
            return s;
        }

        due = due > at ? due : at;
        var token = s.TimerToken + 1;
        commands.Add(new ScheduleTimer(s.Ue, due, TimerKind.PolicyReview, token));
        return s with { TimerToken = token, PolicyTimer = token, PolicyReviewAt = due };
    }
}
