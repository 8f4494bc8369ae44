using MobiScud.Cloud.Simulated;

namespace MobiScud.Cloud.Tests;

/// <summary>The simulated pre-copy model against the closed forms of Clark et al.'s iterative pre-copy.</summary>
public sealed class SimulatedPreCopyTests
{
    private const double MiB = 1024 * 1024;

    private static PreCopyParameters Params(double memoryMiB, double dirtyMiBps, double wwsMiB, double limitMs, int maxRounds = 30, double capMiBps = 1e9, double switchoverMs = 0) =>
        new((long)(memoryMiB * MiB), dirtyMiBps * MiB, (long)(wwsMiB * MiB), TimeSpan.FromMilliseconds(limitMs), maxRounds, capMiBps * MiB, TimeSpan.FromMilliseconds(switchoverMs));

    [Fact]
    public void SingleMigrationMatchesTheGeometricSeries()
    {
        // M = 256 MiB, b = 100 MiB/s, d = 20 MiB/s (r = 0.2), WWS large, limit 50 ms.
        const double m = 256 * MiB, b = 100 * MiB, d = 20 * MiB, limit = 0.05;
        var r = d / b;
        // Round i (1-based) sends M r^(i-1); after n rounds M r^n is left. n = first n with M r^n / b <= limit.
        var n = 1;
        while (m * Math.Pow(r, n) / b > limit)
        {
            n++;
        }

        var bytes = m * (1 - Math.Pow(r, n + 1)) / (1 - r);
        var total = bytes / b;
        var downtime = m * Math.Pow(r, n) / b;

        var sim = new Harness(b);
        sim.Start(TimeSpan.Zero, Params(256, 20, 10_000, 50));
        var result = sim.RunAll().Single();

        Assert.Equal(3, n); // 256 -> 51.2 -> 10.24 -> 2.048 MiB left: 20 ms <= 50 ms, while 10.24 MiB (102 ms) did not fit
        Assert.Equal(n, result.Rounds);
        Assert.Equal(bytes, result.BytesSent, bytes * 1e-6);
        Assert.Equal(total, result.TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(downtime, result.Downtime.TotalSeconds, 1e-5);
    }

    [Fact]
    public void StopCopyStartsAsSoonAsTheRemainderFitsTheLimit()
    {
        // With a 150 ms limit, r = 0.2: after round 1, 51.2 MiB left (512 ms) > 150; after round 2, 10.24 MiB (102 ms) fits.
        var sim = new Harness(100 * MiB);
        sim.Start(TimeSpan.Zero, Params(256, 20, 10_000, 150));
        var result = sim.RunAll().Single();
        Assert.Equal(2, result.Rounds);
        Assert.Equal(256 * MiB * (1 + 0.2 + 0.04), result.BytesSent, 256 * MiB * 1e-6);
        Assert.Equal(0.1024, result.Downtime.TotalSeconds, 1e-5);
    }

    [Fact]
    public void WritableWorkingSetBoundsTheDirtySetAndTheIterationCapForcesStopCopy()
    {
        // d = 200 MiB/s > b = 100 MiB/s: unbounded it would never converge. WWS = 64 MiB caps every later round at
        // 64 MiB (640 ms > 300 ms limit), so it stops at the cap of 5 rounds: M + 4 W pre-copy, W stop-and-copy.
        const double b = 100 * MiB;
        var sim = new Harness(b);
        sim.Start(TimeSpan.Zero, Params(128, 200, 64, 300, maxRounds: 5, switchoverMs: 20));
        var result = sim.RunAll().Single();
        var bytes = (128 + (5 * 64)) * MiB;
        Assert.Equal(5, result.Rounds);
        Assert.Equal(bytes, result.BytesSent, bytes * 1e-6);
        Assert.Equal((bytes / b) + 0.020, result.TotalTime.TotalSeconds, 1e-5);
        Assert.Equal((64 * MiB / b) + 0.020, result.Downtime.TotalSeconds, 1e-5);
    }

    [Fact]
    public void IdleGuestSendsItsMemoryOnceAndPausesOnlyForSwitchover()
    {
        var sim = new Harness(125e6);
        sim.Start(TimeSpan.FromSeconds(3), Params(512, 0, 0, 300, switchoverMs: 15));
        var result = sim.RunAll().Single();
        Assert.Equal(1, result.Rounds);
        Assert.Equal(512 * MiB / 125e6 + 0.015, result.TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(0.015, result.Downtime.TotalSeconds, 1e-6);
        Assert.Equal(TimeSpan.FromSeconds(3) + result.TotalTime, result.CompletesAt);
    }

    [Fact]
    public void ConcurrentMigrationsShareTheLinkEqually()
    {
        // Two idle 100 MiB guests on a 100 MiB/s link, the second starting at t = 0.5 s.
        // 0..0.5: A alone sends 50 MiB. Then both at 50 MiB/s: A's last 50 MiB take 1 s (A done at 1.5 s, B has
        // sent 50). B alone then sends its last 50 MiB in 0.5 s: done at 2.0 s, total 1.5 s.
        var sim = new Harness(100 * MiB);
        var a = sim.Start(TimeSpan.Zero, Params(100, 0, 0, 300));
        var b = sim.Start(TimeSpan.FromSeconds(0.5), Params(100, 0, 0, 300));
        var results = sim.RunAll();
        Assert.Equal(1.5, sim.ResultOf(a).TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(1.5, sim.ResultOf(b).TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(2.0, (sim.ResultOf(b).CompletesAt).TotalSeconds, 1e-5);
        Assert.Equal(2, results.Count);
    }

    [Fact]
    public void PerMigrationCapLimitsTheShare()
    {
        // QEMU max-bandwidth 10 MiB/s on a 1000 MiB/s link: 50 MiB take 5 s.
        var sim = new Harness(1000 * MiB);
        sim.Start(TimeSpan.Zero, Params(50, 0, 0, 300, capMiBps: 10));
        Assert.Equal(5.0, sim.RunAll().Single().TotalTime.TotalSeconds, 1e-5);
    }

    [Fact]
    public void SharingSlowsConvergenceBecauseTheLimitTestUsesTheShare()
    {
        // Alone, r = 0.2 converges after 2 rounds (10.24 MiB left = 102 ms <= 300 ms). Sharing with 3 others (b = 25 MiB/s each, r = 0.8)
        // needs more rounds: the same guest migrated in company sends more bytes.
        var alone = new Harness(100 * MiB);
        alone.Start(TimeSpan.Zero, Params(256, 20, 10_000, 300));
        var shared = new Harness(100 * MiB);
        var target = shared.Start(TimeSpan.Zero, Params(256, 20, 10_000, 300));
        for (var i = 0; i < 3; i++)
        {
            shared.Start(TimeSpan.Zero, Params(256, 20, 10_000, 300));
        }

        var soloResult = alone.RunAll().Single();
        shared.RunAll();
        Assert.True(shared.ResultOf(target).Rounds > soloResult.Rounds);
        Assert.True(shared.ResultOf(target).BytesSent > soloResult.BytesSent);
    }

    [Fact]
    public void CancelFreesTheLinkForTheOthers()
    {
        var sim = new Harness(100 * MiB);
        var a = sim.Start(TimeSpan.Zero, Params(100, 0, 0, 300));
        var b = sim.Start(TimeSpan.Zero, Params(100, 0, 0, 300));
        sim.CancelAt(TimeSpan.FromSeconds(1), a); // both sent 50 MiB by then; B then sends 50 MiB alone in 0.5 s
        var results = sim.RunAll();
        Assert.Single(results);
        Assert.Equal(1.5, sim.ResultOf(b).TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(PreCopyPhase.Cancelled, a.Phase);
        Assert.False(sim.Model.Cancel(TimeSpan.FromSeconds(2), a));
    }

    [Fact]
    public void MigrationsThatEndedKeepTheirFiguresWhileNewOnesTakeTheirPlace()
    {
        // The model keeps a running migration's numbers in a slot it reuses once the migration ends: what an ended
        // migration reports must stay its own, and the link's byte count must be the sum of every attempt.
        var sim = new Harness(100 * MiB);
        var a = sim.Start(TimeSpan.Zero, Params(100, 0, 0, 300));
        var b = sim.Start(TimeSpan.Zero, Params(100, 0, 0, 300));
        sim.CancelAt(TimeSpan.FromSeconds(1), a); // each sent 50 MiB at 50 MiB/s
        var c = sim.Start(TimeSpan.FromSeconds(1), Params(100, 0, 0, 300)); // takes the slot a left
        sim.RunAll();

        // b: 50 MiB left, shared with c until it ends at 2 s; c: 50 MiB by then, the rest alone at 100 MiB/s.
        Assert.Equal(2.0, sim.ResultOf(b).TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(1.5, sim.ResultOf(c).TotalTime.TotalSeconds, 1e-5);
        Assert.Equal(50 * MiB, a.BytesSent, 1.0);
        Assert.Equal(50 * MiB, a.BytesRemaining, 1.0);
        Assert.Equal(100 * MiB, b.BytesSent, 1.0);
        Assert.Equal(100 * MiB, c.BytesSent, 1.0);
        Assert.Equal(0, c.BytesRemaining);
        sim.Model.Flush(TimeSpan.FromSeconds(3));
        Assert.Equal(a.BytesSent + b.BytesSent + c.BytesSent, sim.Model.MigrationBytes(0), 1.0);
        Assert.Equal(0, sim.Model.ActiveOn(0));

        // A migration of another model is not this one's to cancel, whatever slot it had.
        var other = new Harness(100 * MiB);
        var d = other.Start(TimeSpan.Zero, Params(100, 0, 0, 300));
        var e = sim.Start(TimeSpan.FromSeconds(4), Params(100, 0, 0, 300));
        Assert.False(sim.Model.Cancel(TimeSpan.FromSeconds(4), d));
        Assert.Equal(PreCopyPhase.PreCopy, d.Phase);
        Assert.True(sim.Model.Cancel(TimeSpan.FromSeconds(4), e));
    }

    [Fact]
    public void InvalidParametersAreRejectedWithTheirName()
    {
        var sim = new Harness(100 * MiB);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => sim.Start(TimeSpan.Zero, Params(0, 0, 0, 300)));
        Assert.Equal("MemoryBytes", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => sim.Model.AddLink(0));
    }

    /// <summary>A minimal event loop around the model (virtual time, wake-ups in time order).</summary>
    private sealed class Harness : IPreCopyHost
    {
        private readonly PriorityQueue<Action, (TimeSpan, long)> _queue = new();
        private readonly Dictionary<PreCopyMigration, PreCopyResult> _results = [];
        private readonly int _link;
        private long _seq;

        public Harness(double bandwidth)
        {
            Model = new PreCopyMigrationModel(this);
            _link = Model.AddLink(bandwidth);
        }

        public PreCopyMigrationModel Model { get; }

        public PreCopyMigration Start(TimeSpan at, PreCopyParameters p)
        {
            if (at == TimeSpan.Zero)
            {
                return Model.Start(at, _link, p, null);
            }

            var started = new StrongBox();
            _queue.Enqueue(() => started.Value = Model.Start(at, _link, p, null), (at, _seq++));
            // Run until the start happens so the caller gets the handle.
            while (started.Value is null && _queue.TryDequeue(out var action, out _))
            {
                action();
            }

            return started.Value!;
        }

        public void CancelAt(TimeSpan at, PreCopyMigration m) => _queue.Enqueue(() => Model.Cancel(at, m), (at, _seq++));

        public List<PreCopyResult> RunAll()
        {
            while (_queue.TryDequeue(out var action, out _))
            {
                action();
            }

            return _results.Values.ToList();
        }

        public PreCopyResult ResultOf(PreCopyMigration m) => _results[m];

        public void WakeAt(TimeSpan at, int l, long version) => _queue.Enqueue(() => Model.OnWake(at, l, version), (at, _seq++));

        public void Finished(PreCopyMigration migration, PreCopyResult result) => _results.Add(migration, result);

        private sealed class StrongBox
        {
            public PreCopyMigration? Value { get; set; }
        }
    }
}
