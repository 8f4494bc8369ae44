using System.Runtime.InteropServices;
using MobiScud.Cloud.Simulated;

namespace MobiScud.Cloud.Tests;

// The pre-copy model as it was before its direct migrations moved to a per-link virtual clock and heap (O(n) per
// change, each migration advanced one by one): kept as the reference the new model is checked against
// (PreCopyModelEquivalenceTests). Only renamed; do not optimise it.
/// <summary>One migration in flight on a path of links.</summary>
internal sealed class RefPreCopyMigration
{
    internal RefPreCopyMigration(long id, int[] path, PreCopyParameters parameters, object? tag, TimeSpan startedAt)
    {
        Id = id;
        Links = path;
        Parameters = parameters;
        Tag = tag;
        StartedAt = startedAt;
    }

    public long Id { get; }

    /// <summary>The first link of the path (the only one for a direct link).</summary>
    public int Link => Links[0];

    /// <summary>The links the migration's bytes cross; it progresses at the share of the most loaded one.</summary>
    public IReadOnlyList<int> Path => Links;

    // The array itself: the hot loops iterate it without an interface enumerator.
    internal readonly int[] Links;

    public PreCopyParameters Parameters { get; }

    /// <summary>The caller's handle (e.g. which UE's PVM this is).</summary>
    public object? Tag { get; }

    public TimeSpan StartedAt { get; }

    public PreCopyPhase Phase { get; internal set; }

    /// <summary>Pre-copy rounds started so far (1 during the first full copy).</summary>
    public int Round { get; internal set; } = 1;

    /// <summary>Bytes put on the wire so far; after a cancel, what the cancelled attempt cost.</summary>
    public double BytesSent => Model is { } model ? model.Hot(Slot).BytesSent : _finalBytesSent;

    /// <summary>When the guest was paused for stop-and-copy (valid in StopAndCopy and Done).</summary>
    public TimeSpan PausedAt { get; internal set; }

    /// <summary>Bytes still to send in the current round (the dashboard's progress bar; as of the last update or Flush).</summary>
    public double BytesRemaining => Model is { } model ? model.Hot(Slot).Remaining : _finalRemaining;

    /// <summary>The bandwidth it gets now (bytes/s), for an expected downtime as QEMU computes it: remaining / bandwidth.</summary>
    public double CurrentRate => Model is { } model ? model.Hot(Slot).Share : _finalShare;

    internal double RoundStart;

    // While on the wire the hot numbers live in the model's slot (Slot); once over, they are copied here.
    internal RefPreCopyModel? Model;
    internal int Slot = -1;
    private double _finalBytesSent;
    private double _finalRemaining;
    private double _finalShare;

    internal void Detach(in RefMigrationHot hot)
    {
        _finalBytesSent = hot.BytesSent;
        _finalRemaining = hot.Remaining;
        _finalShare = hot.Share;
        Model = null;
        Slot = -1;
    }
}

/// <summary>
/// The numbers of one migration on the wire that every change on its links reads and writes, kept in one array of the
/// model (not in the migration objects): a link with hundreds of migrations walks contiguous memory instead of
/// hundreds of objects scattered over the heap (each a cache miss; 20% of a 100k-UE run's samples before).
/// </summary>
internal struct RefMigrationHot
{
    public double Remaining;
    public double BytesSent;
    public double Share;
    public double LastUpdate;
    public double MaxBandwidth;

    /// <summary>Its path is one link (the mesh): that link's share is its share, and its bytes count on it alone.</summary>
    public bool Direct;
}

/// <summary>The reference model's host (the same contract as <see cref="IRefPreCopyHost"/>).</summary>
internal interface IRefPreCopyHost
{
    void WakeAt(TimeSpan at, int link, long version);

    void Finished(RefPreCopyMigration migration, PreCopyResult result);
}

/// <summary>
/// Pre-copy live migration over shared links, in virtual time. Round 1 sends all memory; while a round runs the
/// guest dirties min(WWS, rate x round time) bytes, which the next round sends. Once that remainder would take no
/// longer than the downtime limit at the current share (QEMU's pending/bandwidth test), or the round cap is
/// reached, the guest pauses and the remainder is sent (stop-and-copy). Migrations on one link share what user
/// traffic leaves of it equally (processor sharing); a migration routed over several links gets the smallest of
/// its links' shares (the bottleneck). Every start, finish, round change, cancel and background change
/// re-computes the shares of the links concerned and their next wake-up.
/// </summary>
internal sealed class RefPreCopyModel
{
    /// <summary>User traffic never takes more than this fraction of a link from migrations (TCP flows share).</summary>
    private const double MinimumMigrationFraction = 0.1;

    private readonly IRefPreCopyHost _host;
    private readonly List<LinkState> _links = [];
    private readonly Stack<int> _freeSlots = new();
    private RefMigrationHot[] _hot = new RefMigrationHot[64];
    private RefPreCopyMigration?[] _owners = new RefPreCopyMigration?[64];
    private int _slotsUsed;
    private long _nextId;

    public RefPreCopyModel(IRefPreCopyHost host) => _host = host;

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

    public int ActiveOn(int link) => _links[link].Active.Count;

    public double Bandwidth(int link) => _links[link].Bandwidth;

    /// <summary>Migration bytes that crossed the link so far (as of the last change on it or <see cref="Flush"/>).</summary>
    public double MigrationBytes(int link) => _links[link].MigrationBytes;

    /// <summary>User-traffic bytes that crossed the link so far (as of the last change on it or <see cref="Flush"/>).</summary>
    public double BackgroundBytes(int link) => _links[link].BackgroundBytes;

    internal ref readonly RefMigrationHot Hot(int slot) => ref _hot[slot];

    public RefPreCopyMigration Start(TimeSpan now, int link, PreCopyParameters parameters, object? tag) =>
        Start(now, [link], parameters, tag);

    /// <summary>Starts a migration whose bytes cross every link of <paramref name="path"/>.</summary>
    public RefPreCopyMigration Start(TimeSpan now, IReadOnlyList<int> path, PreCopyParameters parameters, object? tag)
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

        var m = new RefPreCopyMigration(++_nextId, [.. path], parameters, tag, now)
        {
            RoundStart = t,
        };
        var slot = TakeSlot();
        _hot[slot] = new RefMigrationHot
        {
            Remaining = parameters.MemoryBytes,
            LastUpdate = t,
            MaxBandwidth = parameters.MaxBandwidth,
            Direct = m.Links.Length == 1,
        };
        _owners[slot] = m;
        m.Model = this;
        m.Slot = slot;
        foreach (var l in m.Links)
        {
            _links[l].Active.Add(slot);
        }

        foreach (var l in m.Links)
        {
            Settle(_links[l], l, t);
        }

        return m;
    }

    /// <summary>Stops a migration (cancel or failure): the guest keeps running at the source. False if already over.</summary>
    public bool Cancel(TimeSpan now, RefPreCopyMigration migration)
    {
        if (migration.Phase is PreCopyPhase.Done or PreCopyPhase.Cancelled || migration.Model != this || !_links[migration.Link].Active.Contains(migration.Slot))
        {
            return false;
        }

        var t = Seconds(now);
        foreach (var l in migration.Links)
        {
            AdvanceLink(_links[l], t);
        }

        foreach (var l in migration.Links)
        {
            _links[l].Active.Remove(migration.Slot);
        }

        migration.Phase = PreCopyPhase.Cancelled;
        Release(migration);
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
        if (state.Active.Count > 0)
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
    private void Release(RefPreCopyMigration m)
    {
        var slot = m.Slot;
        m.Detach(_hot[slot]);
        _owners[slot] = null;
        _freeSlots.Push(slot);
    }

    private void AdvanceLink(LinkState state, double t)
    {
        var dt = t - state.LastUpdate;
        if (dt > 0)
        {
            state.BackgroundBytes += Math.Min(state.Background, state.Bandwidth) * dt;
        }

        state.LastUpdate = Math.Max(state.LastUpdate, t);
        var h = _hot;
        foreach (var slot in CollectionsMarshal.AsSpan(state.Active))
        {
            ref var x = ref h[slot];
            var dm = t - x.LastUpdate;
            if (dm > 0)
            {
                var sent = Math.Min(x.Remaining, x.Share * dm);
                x.Remaining -= sent;
                x.BytesSent += sent;
                if (x.Direct)
                {
                    // The link being advanced is the migration's only one.
                    state.MigrationBytes += sent;
                }
                else
                {
                    foreach (var l in _owners[slot]!.Links)
                    {
                        _links[l].MigrationBytes += sent;
                    }
                }

                x.LastUpdate = t;
            }
        }
    }

    private double Available(LinkState state) =>
        Math.Max(state.Bandwidth * MinimumMigrationFraction, state.Bandwidth - state.Background) / state.Active.Count;

    private void ComputeShares(LinkState state)
    {
        // This link's share once, not once per migration on it (the same value).
        var here = Available(state);
        var h = _hot;
        foreach (var slot in CollectionsMarshal.AsSpan(state.Active))
        {
            ref var x = ref h[slot];
            var share = x.MaxBandwidth;
            if (x.Direct)
            {
                share = Math.Min(share, here);
            }
            else
            {
                foreach (var l in _owners[slot]!.Links)
                {
                    share = Math.Min(share, Available(_links[l]));
                }
            }

            x.Share = share;
        }
    }

    /// <summary>Some migration on the link has its round sent (within a tick's worth of bytes).</summary>
    private bool AnyRoundSent(List<int> active)
    {
        foreach (var slot in CollectionsMarshal.AsSpan(active))
        {
            ref readonly var x = ref _hot[slot];
            if (x.Remaining <= x.Share * 2e-7 + 1e-6)
            {
                return true;
            }
        }

        return false;
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
            for (var i = 0; i < state.Active.Count; i++)
            {
                var slot = state.Active[i];
                ref var x = ref _hot[slot];

                // Within a tick's worth of bytes counts as sent: wake-ups are rounded to 100 ns.
                if (x.Remaining > x.Share * 2e-7 + 1e-6)
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
                if (m.Phase == PreCopyPhase.PreCopy)
                {
                    var p = m.Parameters;
                    var roundTime = t - m.RoundStart;
                    var dirty = Math.Min(p.WritableWorkingSet, p.DirtyRate * roundTime);
                    var limit = p.DowntimeLimit.Ticks / (double)TimeSpan.TicksPerSecond;
                    if (dirty / x.Share <= limit || m.Round >= p.MaxRounds)
                    {
                        m.Phase = PreCopyPhase.StopAndCopy;
                        m.PausedAt = FromSecondsExact(t);
                    }
                    else
                    {
                        m.Round++;
                    }

                    x.Remaining = dirty;
                    m.RoundStart = t;
                }
                else
                {
                    m.Phase = PreCopyPhase.Done;
                    state.Active.RemoveAt(i);
                    i--;
                    foreach (var l in m.Links)
                    {
                        if (l != link)
                        {
                            // The other links lose a migration: their others speed up from now on.
                            AdvanceLink(_links[l], t);
                            _links[l].Active.Remove(slot);
                            (touched ??= []).Add(l);
                        }
                    }

                    var now = FromSecondsExact(t);
                    var completes = now + m.Parameters.Switchover;
                    var result = new PreCopyResult(
                        completes - m.StartedAt,
                        completes - m.PausedAt,
                        (long)Math.Round(_hot[slot].BytesSent),
                        m.Round,
                        completes);
                    Release(m);
                    _host.Finished(m, result);
                }
            }

            if (changed)
            {
                ComputeShares(state);
            }
        }
        while (changed && state.Active.Count > 0 && AnyRoundSent(state.Active));

        state.Version++;
        if (state.Active.Count > 0)
        {
            var next = double.PositiveInfinity;
            foreach (var slot in CollectionsMarshal.AsSpan(state.Active))
            {
                ref readonly var x = ref _hot[slot];
                next = Math.Min(next, x.Remaining / x.Share);
            }

            _host.WakeAt(FromSeconds(t + next), link, state.Version);
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

        /// <summary>The slots of the migrations on the link, in the order they started (the order bytes are summed in).</summary>
        public List<int> Active { get; } = [];

        public double LastUpdate;

        public long Version;

        public double Background;

        public double MigrationBytes;

        public double BackgroundBytes;
    }
}
