using System.Runtime.InteropServices;

namespace MobiScud.Cloud.Simulated;

/// <summary>
/// Pre-copy live migration over shared links, in virtual time. Round 1 sends all memory; while a round runs the
/// guest dirties min(WWS, rate x round time) bytes, which the next round sends. Once that remainder would take no
/// longer than the downtime limit at the current share (QEMU's pending/bandwidth test), or the round cap is
/// reached, the guest pauses and the remainder is sent (stop-and-copy). Migrations on one link share what user
/// traffic leaves of it equally (processor sharing); a migration routed over several links gets the smallest of
/// its links' shares (the bottleneck). Every start, finish, round change, cancel and background change
/// re-computes the shares of the links concerned and their next wake-up.
/// </summary>
/// <remarks>
/// Migrations whose path is one link (the mesh) with the same cap all send at the same rate, so a link keeps, per cap,
/// one virtual clock (bytes each has sent) and a heap of the clock values at which their rounds end, as in
/// processor-sharing and fair-queueing simulators: a change costs O(log n) in the migrations on the link, where it
/// walked all of them (hundreds at once on one link at 100k UEs under <c>always</c>). Routed migrations (several
/// links, each at its own bottleneck share) keep their own counters and are walked as before.
/// </remarks>
public sealed partial class PreCopyMigrationModel
{
    /// <summary>User traffic never takes more than this fraction of a link from migrations (TCP flows share).</summary>
    private const double MinimumMigrationFraction = 0.1;

    private readonly IPreCopyHost _host;
    private readonly List<LinkState> _links = [];
    private readonly Stack<int> _freeSlots = new();

    // Direct migrations whose round is sent, gathered per pass of Settle (reused: no allocation per change).
    private readonly List<int> _due = [];
    private readonly Comparison<int> _byOrder;
    private MigrationHot[] _hot = new MigrationHot[64];
    private PreCopyMigration?[] _owners = new PreCopyMigration?[64];
    private int _slotsUsed;
    private long _nextId;

    public PreCopyMigrationModel(IPreCopyHost host)
    {
        _host = host;
        _byOrder = (a, b) => _hot[a].Order.CompareTo(_hot[b].Order);
    }

    /// <summary>Adds a link of this capacity (bytes/s) and returns its index.</summary>
    public int AddLink(double bandwidth)
    {
        if (!(bandwidth > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(bandwidth), bandwidth, "link bandwidth must be positive");
        }

        _links.Add(new LinkState(bandwidth));
        return _links.Count - 1;
    }

    public int LinkCount => _links.Count;

    public int ActiveOn(int link) => _links[link].Count;

    public double Bandwidth(int link) => _links[link].Bandwidth;

    /// <summary>Migration bytes that crossed the link so far (as of the last change on it or <see cref="Flush"/>).</summary>
    public double MigrationBytes(int link) => _links[link].MigrationBytes;

    /// <summary>User-traffic bytes that crossed the link so far (as of the last change on it or <see cref="Flush"/>).</summary>
    public double BackgroundBytes(int link) => _links[link].BackgroundBytes;

    internal double BytesSentOf(int slot)
    {
        ref readonly var x = ref _hot[slot];
        return x.Direct ? x.SentBefore + x.RoundBytes - RemainingOf(slot) : x.BytesSent;
    }

    internal double RemainingOf(int slot)
    {
        ref readonly var x = ref _hot[slot];
        return x.Direct ? Math.Max(0, x.Finish - _links[x.Link].Classes[x.Class].Clock) : x.Remaining;
    }

    internal double ShareOf(int slot)
    {
        ref readonly var x = ref _hot[slot];
        return x.Direct ? _links[x.Link].Classes[x.Class].Rate : x.Share;
    }

    public PreCopyMigration Start(TimeSpan now, int link, PreCopyParameters parameters, object? tag) =>
        Start(now, [link], parameters, tag);

    /// <summary>Starts a migration whose bytes cross every link of <paramref name="path"/>.</summary>
    public PreCopyMigration Start(TimeSpan now, IReadOnlyList<int> path, PreCopyParameters parameters, object? tag)
    {
        parameters.Validate();
        if (path.Count == 0)
        {
            throw new ArgumentException("a migration needs at least one link", nameof(path));
        }

        var t = Seconds(now);
        foreach (var l in path)
        {
            AdvanceLink(_links[l], t);
        }

        var m = new PreCopyMigration(++_nextId, [.. path], parameters, tag, now)
        {
            RoundStart = t,
        };
        var slot = TakeSlot();
        var direct = m.Links.Length == 1;
        _hot[slot] = new MigrationHot
        {
            Remaining = parameters.MemoryBytes,
            LastUpdate = t,
            MaxBandwidth = parameters.MaxBandwidth,
            Direct = direct,
            Link = m.Links[0],
            HeapIndex = -1,
            Order = m.Id,
        };
        _owners[slot] = m;
        m.Model = this;
        m.Slot = slot;
        if (direct)
        {
            var state = _links[m.Link];
            ref var x = ref _hot[slot];
            x.Class = state.ClassFor(parameters.MaxBandwidth);
            var c = state.Classes[x.Class];
            x.RoundBytes = parameters.MemoryBytes;
            x.Finish = c.Clock + parameters.MemoryBytes;
            HeapPush(c, slot);
            state.DirectCount++;
        }
        else
        {
            foreach (var l in m.Links)
            {
                _links[l].Routed.Add(slot);
            }
        }

        foreach (var l in m.Links)
        {
            Settle(_links[l], l, t);
        }

        return m;
    }

    /// <summary>Stops a migration (cancel or failure): the guest keeps running at the source. False if already over.</summary>
    public bool Cancel(TimeSpan now, PreCopyMigration migration)
    {
        // Model is this model exactly while the migration is on the wire here (Release clears it).
        if (migration.Phase is PreCopyPhase.Done or PreCopyPhase.Cancelled || migration.Model != this)
        {
            return false;
        }

        var t = Seconds(now);
        foreach (var l in migration.Links)
        {
            AdvanceLink(_links[l], t);
        }

        var slot = migration.Slot;
        migration.Phase = PreCopyPhase.Cancelled;
        if (_hot[slot].Direct)
        {
            var state = _links[migration.Link];
            var c = state.Classes[_hot[slot].Class];
            var rest = _hot[slot].Finish - c.Clock;
            if (rest < 0)
            {
                // The clock ran up to a tick past its round's end: those bytes were never sent.
                state.MigrationBytes += rest;
            }

            Release(migration);
            HeapRemove(c, slot);
            state.DirectCount--;
        }
        else
        {
            foreach (var l in migration.Links)
            {
                _links[l].Routed.Remove(slot);
            }

            Release(migration);
        }

        foreach (var l in migration.Links)
        {
            Settle(_links[l], l, t);
        }

        return true;
    }

    /// <summary>Sets the user traffic (bytes/s) on a link; migrations get what is left (at least 10% of it).</summary>
    public void SetBackground(TimeSpan now, int link, double bytesPerSecond)
    {
        var state = _links[link];
        if (state.Background == bytesPerSecond)
        {
            return;
        }

        var t = Seconds(now);
        AdvanceLink(state, t);
        state.Background = Math.Max(0, bytesPerSecond);
        if (state.Count > 0)
        {
            // Migrations on other links of their paths are bottlenecked here too: advance them before shares change.
            Settle(state, link, t);
        }
    }

    /// <summary>Brings every link's byte counters up to now (for utilisation samples).</summary>
    public void Flush(TimeSpan now)
    {
        var t = Seconds(now);
        foreach (var state in _links)
        {
            AdvanceLink(state, t);
        }
    }

    /// <summary>The host's wake-up; stale versions (a change happened since) are ignored.</summary>
    public void OnWake(TimeSpan now, int link, long version)
    {
        var state = _links[link];
        if (version != state.Version)
        {
            return;
        }

        var t = Seconds(now);
        AdvanceLink(state, t);
        Settle(state, link, t);
    }

    private static double Seconds(TimeSpan t) => t.Ticks / (double)TimeSpan.TicksPerSecond;

    // Rounded up so that at the wake-up the bytes are really sent.
    private static TimeSpan FromSeconds(double s) => TimeSpan.FromTicks((long)Math.Ceiling(s * TimeSpan.TicksPerSecond));

    private int TakeSlot()
    {
        if (_freeSlots.TryPop(out var slot))
        {
            return slot;
        }

        if (_slotsUsed == _hot.Length)
        {
            Array.Resize(ref _hot, _hot.Length * 2);
            Array.Resize(ref _owners, _owners.Length * 2);
        }

        return _slotsUsed++;
    }

    /// <summary>The migration is over: its numbers go back to it and its slot is free for the next.</summary>
    private void Release(PreCopyMigration m)
    {
        var slot = m.Slot;
        m.Detach(BytesSentOf(slot), RemainingOf(slot), ShareOf(slot));
        _owners[slot] = null;
        _freeSlots.Push(slot);
    }

    private void AdvanceLink(LinkState state, double t)
    {
        var dt = t - state.LastUpdate;
        if (dt > 0)
        {
            state.BackgroundBytes += Math.Min(state.Background, state.Bandwidth) * dt;
            foreach (var c in state.Classes)
            {
                if (c.Count > 0)
                {
                    // Every direct migration of the class sends this much; one whose round ends within it is
                    // corrected when it is settled (Settle) or cancelled.
                    var d = c.Rate * dt;
                    c.Clock += d;
                    state.MigrationBytes += d * c.Count;
                }
            }
        }

        state.LastUpdate = Math.Max(state.LastUpdate, t);
        var h = _hot;
        foreach (var slot in CollectionsMarshal.AsSpan(state.Routed))
        {
            ref var x = ref h[slot];
            var dm = t - x.LastUpdate;
            if (dm > 0)
            {
                var sent = Math.Min(x.Remaining, x.Share * dm);
                x.Remaining -= sent;
                x.BytesSent += sent;
                foreach (var l in _owners[slot]!.Links)
                {
                    _links[l].MigrationBytes += sent;
                }

                x.LastUpdate = t;
            }
        }
    }

    private double Available(LinkState state) =>
        Math.Max(state.Bandwidth * MinimumMigrationFraction, state.Bandwidth - state.Background) / state.Count;

    private void ComputeShares(LinkState state)
    {
        // This link's share once, not once per migration on it (the same value).
        var here = Available(state);
        foreach (var c in state.Classes)
        {
            c.Rate = Math.Min(c.Cap, here);
        }

        var h = _hot;
        foreach (var slot in CollectionsMarshal.AsSpan(state.Routed))
        {
            ref var x = ref h[slot];
            var share = x.MaxBandwidth;
            foreach (var l in _owners[slot]!.Links)
            {
                share = Math.Min(share, Available(_links[l]));
            }

            x.Share = share;
        }
    }

    // Within a tick's worth of bytes counts as sent: wake-ups are rounded to 100 ns.
    private static bool RoundSent(double remaining, double share) => remaining <= share * 2e-7 + 1e-6;

    private bool DirectDue(DirectClass c) => c.Count > 0 && RoundSent(_hot[c.Heap[0]].Finish - c.Clock, c.Rate);

    /// <summary>Some migration on the link has its round sent (within a tick's worth of bytes).</summary>
    private bool AnyRoundSent(LinkState state)
    {
        foreach (var slot in CollectionsMarshal.AsSpan(state.Routed))
        {
            ref readonly var x = ref _hot[slot];
            if (RoundSent(x.Remaining, x.Share))
            {
                return true;
            }
        }

        foreach (var c in state.Classes)
        {
            if (DirectDue(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A round of the migration is sent: the next round, stop-and-copy, or (the second bool) done.</summary>
    private bool NextPhase(PreCopyMigration m, double share, double t, out double nextRound)
    {
        nextRound = 0;
        if (m.Phase != PreCopyPhase.PreCopy)
        {
            m.Phase = PreCopyPhase.Done;
            return true;
        }

        var p = m.Parameters;
        var roundTime = t - m.RoundStart;
        var dirty = Math.Min(p.WritableWorkingSet, p.DirtyRate * roundTime);
        var limit = p.DowntimeLimit.Ticks / (double)TimeSpan.TicksPerSecond;
        if (dirty / share <= limit || m.Round >= p.MaxRounds)
        {
            m.Phase = PreCopyPhase.StopAndCopy;
            m.PausedAt = FromSecondsExact(t);
        }
        else
        {
            m.Round++;
        }

        nextRound = dirty;
        m.RoundStart = t;
        return false;
    }

    private void Finish(PreCopyMigration m, double t, double bytesSent)
    {
        var now = FromSecondsExact(t);
        var completes = now + m.Parameters.Switchover;
        var result = new PreCopyResult(
            completes - m.StartedAt,
            completes - m.PausedAt,
            (long)Math.Round(bytesSent),
            m.Round,
            completes);
        Release(m);
        _host.Finished(m, result);
    }

    /// <summary>Moves every migration whose round is sent to its next phase, then asks for the next wake-up.</summary>
    private void Settle(LinkState state, int link, double t)
    {
        ComputeShares(state);
        List<int>? touched = null;
        bool changed;
        do
        {
            changed = false;
            for (var i = 0; i < state.Routed.Count; i++)
            {
                var slot = state.Routed[i];
                ref var x = ref _hot[slot];
                if (!RoundSent(x.Remaining, x.Share))
                {
                    continue;
                }

                var m = _owners[slot]!;
                x.BytesSent += x.Remaining;
                foreach (var l in m.Links)
                {
                    _links[l].MigrationBytes += x.Remaining;
                }

                x.Remaining = 0;
                changed = true;
                if (!NextPhase(m, x.Share, t, out var nextRound))
                {
                    x.Remaining = nextRound;
                }
                else
                {
                    state.Routed.RemoveAt(i);
                    i--;
                    foreach (var l in m.Links)
                    {
                        if (l != link)
                        {
                            // The other links lose a migration: their others speed up from now on.
                            AdvanceLink(_links[l], t);
                            _links[l].Routed.Remove(slot);
                            (touched ??= []).Add(l);
                        }
                    }

                    Finish(m, t, _hot[slot].BytesSent);
                }
            }

            if (state.DirectCount > 0)
            {
                // Take out every direct migration whose round is sent, then handle them in the order they started
                // (the order the per-migration walk had), each at the share of this pass.
                _due.Clear();
                foreach (var c in state.Classes)
                {
                    while (DirectDue(c))
                    {
                        _due.Add(HeapPop(c));
                    }
                }

                if (_due.Count > 1)
                {
                    _due.Sort(_byOrder);
                }

                foreach (var slot in _due)
                {
                    ref var x = ref _hot[slot];
                    var c = state.Classes[x.Class];
                    var m = _owners[slot]!;
                    state.MigrationBytes += x.Finish - c.Clock;
                    x.SentBefore += x.RoundBytes;
                    x.RoundBytes = 0;
                    x.Finish = c.Clock;
                    changed = true;
                    if (!NextPhase(m, c.Rate, t, out var nextRound))
                    {
                        x.RoundBytes = nextRound;
                        x.Finish = c.Clock + nextRound;
                        HeapPush(c, slot);
                    }
                    else
                    {
                        state.DirectCount--;
                        Finish(m, t, x.SentBefore);
                    }
                }
            }

            if (changed)
            {
                ComputeShares(state);
            }
        }
        while (changed && state.Count > 0 && AnyRoundSent(state));

        state.Version++;
        if (state.Count > 0)
        {
            var next = double.PositiveInfinity;
            foreach (var slot in CollectionsMarshal.AsSpan(state.Routed))
            {
                ref readonly var x = ref _hot[slot];
                next = Math.Min(next, x.Remaining / x.Share);
            }

            foreach (var c in state.Classes)
            {
                if (c.Count > 0)
                {
                    next = Math.Min(next, (_hot[c.Heap[0]].Finish - c.Clock) / c.Rate);
                }
            }

            _host.WakeAt(FromSeconds(t + next), link, state.Version);
        }

        foreach (var c in state.Classes)
        {
            if (c.Count == 0)
            {
                // An empty class restarts its clock at zero, so clock values stay small and exact.
                c.Clock = 0;
            }
        }

        if (touched is not null)
        {
            foreach (var l in touched.Distinct())
            {
                Settle(_links[l], l, t);
            }
        }
    }

    private static TimeSpan FromSecondsExact(double s) => TimeSpan.FromTicks((long)Math.Round(s * TimeSpan.TicksPerSecond));

    private sealed class LinkState(double bandwidth)
    {
        public double Bandwidth { get; } = bandwidth;

        /// <summary>The slots of the routed migrations on the link, in the order they started (the order bytes are summed in).</summary>
        public List<int> Routed { get; } = [];

        /// <summary>The direct migrations, one class per cap (nearly always one).</summary>
        public List<DirectClass> Classes { get; } = [];

        public int DirectCount;

        public int Count => Routed.Count + DirectCount;

        public double LastUpdate;

        public long Version;

        public double Background;

        public double MigrationBytes;

        public double BackgroundBytes;

        public int ClassFor(double cap)
        {
            for (var i = 0; i < Classes.Count; i++)
            {
                if (Classes[i].Cap == cap)
                {
                    return i;
                }
            }

            Classes.Add(new DirectClass(cap));
            return Classes.Count - 1;
        }
    }
}
