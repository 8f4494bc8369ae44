using MobiScud.Cli;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>The handoff between the capture thread and the tracker thread of `replay --live --threads 2`.</summary>
public sealed class SpscRingTests
{
    [Fact]
    public void It_holds_its_capacity_in_order_and_refuses_more()
    {
        var ring = new SpscRing<long>(5);
        Assert.Equal(8, ring.Capacity);
        for (var round = 0; round < 3; round++)
        {
            for (long i = 0; i < 8; i++)
            {
                Assert.True(ring.TryEnqueue(i));
            }

            Assert.False(ring.TryEnqueue(99));
            Assert.Equal(8, ring.Count);
            for (long i = 0; i < 8; i++)
            {
                Assert.True(ring.TryDequeue(out var v));
                Assert.Equal(i, v);
            }

            Assert.False(ring.TryDequeue(out _));
            Assert.Equal(0, ring.Count);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new SpscRing<long>(1));
    }

    [Fact]
    public void Two_threads_pass_every_item_once_in_order_through_a_small_ring()
    {
        // A ring of 64 and 2,000,000 items: the producer finds it full and the consumer finds it empty many times.
        const long Items = 2_000_000;
        var ring = new SpscRing<long>(64);
        long received = 0, outOfOrder = 0;
        var consumer = new Thread(() =>
        {
            var expected = 0L;
            while (expected < Items)
            {
                if (ring.TryDequeue(out var v))
                {
                    outOfOrder += v == expected ? 0 : 1;
                    expected++;
                }
                else
                {
                    Thread.Yield();
                }
            }

            received = expected;
        });
        consumer.Start();
        for (long i = 0; i < Items; i++)
        {
            while (!ring.TryEnqueue(i))
            {
                Thread.Yield();
            }
        }

        Assert.True(consumer.Join(TimeSpan.FromMinutes(2)), "the consumer did not get every item");
        Assert.Equal(Items, received);
        Assert.Equal(0, outOfOrder);
        Assert.False(ring.TryDequeue(out _));
    }
}

/// <summary>The two-thread live path's stage, fed from a shared capture through the real pipeline.</summary>
public sealed class LiveTrackerStageTests
{
    [Fact]
    public void Every_decoded_message_reaches_the_tracker_thread_in_capture_order()
    {
        var frames = new List<long>();
        var trackerThread = -1;
        var stage = new LiveTrackerStage(16, h =>
        {
            trackerThread = Environment.CurrentManagedThreadId;
            frames.Add(h.Frame);
        }, () => { });
        var pipeline = Feed(stage);
        Assert.Null(stage.Failure);
        Assert.True(pipeline.Statistics.S1apMessages > 500);
        Assert.Equal(stage.HandedOver, frames.Count);
        Assert.Equal(stage.HandedOver, stage.Tracked);
        Assert.Equal(0, stage.NotTrackedAfterFailure);
        Assert.True(frames.Count >= pipeline.Statistics.S1apMessages, $"{frames.Count} handed over, {pipeline.Statistics.S1apMessages} S1AP messages decoded");
        Assert.Equal(frames.Order(), frames);
        Assert.NotEqual(Environment.CurrentManagedThreadId, trackerThread);
        Assert.True(stage.FullWaits > 0, "a ring of 16 was never full: the test did not exercise the wait");
    }

    [Fact]
    public void A_fault_on_the_tracker_thread_stops_the_capture_and_says_what_was_not_tracked()
    {
        var seen = 0;
        var stopped = false;
        var stage = new LiveTrackerStage(4, h =>
        {
            if (++seen == 100)
            {
                throw new InvalidOperationException($"tracker fault at frame {h.Frame}");
            }
        }, () => { })
        {
            OnFailure = () => stopped = true,
        };
        var pipeline = Feed(stage);
        Assert.True(stopped);
        Assert.IsType<InvalidOperationException>(stage.Failure);
        Assert.Contains(stage.FailedAtFrame.ToString(System.Globalization.CultureInfo.InvariantCulture), stage.Failure!.Message, StringComparison.Ordinal);

        // Nothing vanishes unsaid: tracked before the fault, and the rest (the one that failed included) counted as not tracked.
        Assert.Equal(99, stage.Tracked);
        Assert.Equal(stage.Tracked + stage.NotTrackedAfterFailure, HandedOverWithoutFault());
        Assert.True(stage.NotTrackedAfterFailure > 1);
        Assert.True(pipeline.Statistics.S1apMessages > 500);
    }

    private static long HandedOverWithoutFault()
    {
        var stage = new LiveTrackerStage(1 << 16, _ => { }, () => { });
        Feed(stage);
        return stage.HandedOver;
    }

    [Fact]
    public void A_stop_with_a_drain_limit_counts_what_it_left_in_the_ring()
    {
        // A tracker slower than the capture and a stop that may not wait: the summary must still add up.
        var stage = new LiveTrackerStage(1 << 12, _ => Thread.Sleep(1), () => { });
        Feed(stage, TimeSpan.Zero);
        Assert.Null(stage.Failure);
        Assert.True(stage.LeftAtStop > 0, "the slow tracker drained the ring anyway: the test did not exercise the limit");
        Assert.Equal(stage.HandedOver, stage.Tracked + stage.LeftAtStop);
    }

    [Fact]
    public void Under_a_backlog_the_output_is_flushed_on_the_clock_and_keeps_every_line_in_order()
    {
        // The tracker thread is held until every message is queued, so its ring never empties until the end: flushes
        // can then only come from the clock (1 ms per message here, a flush interval of 10 ms).
        var clock = new SteppedClock();
        var release = new ManualResetEventSlim(false);
        var lines = new List<long>();
        var flushedAt = new List<int>();
        var stage = new LiveTrackerStage(1 << 16, h =>
        {
            release.Wait();
            lines.Add(h.Frame);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }, () => flushedAt.Add(lines.Count))
        {
            Time = clock,
            FlushInterval = TimeSpan.FromMilliseconds(10),
        };
        var pipeline = new MobiScud.Capture.SignallingPipeline(stage);
        stage.Start(pipeline);
        using (var source = MobiScud.Capture.CaptureFile.Open(MobiScud.TestSupport.TestData.Capture("magma_gx_gy_combined_04_32ue.pcapng")))
        {
            while (source.TryReadNext(out var frame))
            {
                pipeline.Process(frame);
                stage.EndFrame();
            }
        }

        release.Set();
        stage.Complete();
        stage.Dispose();

        Assert.True(lines.Count > 500, $"only {lines.Count} messages");
        Assert.Equal(stage.HandedOver, lines.Count);
        Assert.Equal(lines.Order(), lines);

        // The last flush comes after the last line; before it, no more than one clock check's worth of lines unflushed.
        Assert.Equal(lines.Count, flushedAt[^1]);
        var gaps = flushedAt.Zip(flushedAt.Skip(1), (a, b) => b - a).Where(g => g > 0).ToList();
        Assert.True(gaps.Count >= (lines.Count / LiveTrackerStage.ClockCheckEvery) - 1, $"{gaps.Count} flushes with lines for {lines.Count} lines under a backlog: the clock did not flush");
        Assert.All(gaps, g => Assert.True(g <= LiveTrackerStage.ClockCheckEvery, $"{g} lines between two flushes"));
    }

    /// <summary>A clock that moves only when told (TimeProvider's timestamps at 1 tick = 100 ns).</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    private static MobiScud.Capture.SignallingPipeline Feed(LiveTrackerStage stage, TimeSpan? drainLimit = null)
    {
        var pipeline = new MobiScud.Capture.SignallingPipeline(stage);
        stage.Start(pipeline);
        using (var source = MobiScud.Capture.CaptureFile.Open(MobiScud.TestSupport.TestData.Capture("magma_gx_gy_combined_04_32ue.pcapng")))
        {
            while (source.TryReadNext(out var frame))
            {
                pipeline.Process(frame);
                stage.EndFrame();
            }
        }

        stage.Complete(drainLimit);
        stage.Dispose();
        return pipeline;
    }
}
