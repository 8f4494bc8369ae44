using MobiScud.Capture;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Tracking;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using CapturePipelineOptions = MobiScud.Capture.PipelineOptions;

namespace MobiScud.Hosting.Pipeline;

/// <summary>What one capture tap has done so far (REST, logs, tests).</summary>
internal sealed class CaptureTapStatus(string name)
{
    private long _frames;
    private long _events;

    public string Name { get; } = name;

    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>UE events handed to the pipeline.</summary>
    public long Events => Interlocked.Read(ref _events);

    public PipelineStatistics? Statistics { get; internal set; }

    /// <summary>Why the tap stopped early (broken file, interface gone), naming the file and place.</summary>
    public string? Error { get; internal set; }

    public bool Finished { get; internal set; }

    /// <summary>Times the tap failed and was started again (after a back-off).</summary>
    public int Restarts { get; internal set; }

    internal void Frame() => Interlocked.Increment(ref _frames);

    internal void Event() => Interlocked.Increment(ref _events);
}

/// <summary>
/// The pcap/pcapng and live-interface taps of `mobiscud serve`: frames go through the same <see cref="TrackerFeed"/> as
/// `mobiscud replay` (capture pipeline -> S1AP/GTP -> UE tracker), and the UE events into the ordered, bounded pipeline
/// (a full lane holds the reader back: backpressure reaches the file or the capture buffer). A file is replayed at
/// its recorded pace (times <see cref="TapOptions.Rate"/>) or as fast as the pipeline takes it; event times are moved
/// onto the service clock. Packets not used are counted by reason in the decode-error metric; a file that turns out
/// broken part-way stops its tap with an error naming the file and offset, keeping what was already applied.
/// </summary>
internal sealed class CaptureTaps(
    IOptions<MobiScudOptions> options,
    IEventSink sink,
    Reconciler reconciler,
    TimeProvider clock,
    TimeProvider time,
    HostingMetrics metrics,
    ResilienceMetrics resilience,
    ILogger<CaptureTaps> log,
    Dashboard.ServeDashboard dashboard) : BackgroundService
{
    private readonly TaskCompletionSource _files = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<CaptureTapStatus> _status = [];

    public IReadOnlyList<CaptureTapStatus> Status => _status;

    /// <summary>Completes when every file tap has been read to its end (or stopped on an error).</summary>
    public Task FilesDone => _files.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var taps = options.Value.Taps.Where(t => t.Pcap is not null || t.Interface is not null).ToList();
        _status.AddRange(taps.Select(t => new CaptureTapStatus(t.Pcap ?? t.Interface!)));
        try
        {
            if (taps.Count == 0)
            {
                return;
            }

            await reconciler.Completed.WaitAsync(stoppingToken);
            var files = new List<Task>();
            for (var i = 0; i < taps.Count; i++)
            {
                var (tap, status) = (taps[i], _status[i]);
                // Reading blocks (file I/O, libpcap's read timeout): each tap gets its own thread.
                var run = Task.Factory.StartNew(() => RunAsync(tap, status, stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
                if (tap.Pcap is not null)
                {
                    files.Add(run);
                }
            }

            await Task.WhenAll(files);
        }
        finally
        {
            _files.TrySetResult();
        }
    }

    /// <summary>Longest wait before a failed tap is started again.</summary>
    private static readonly TimeSpan _maxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs the tap; when it fails (an interface gone, a decoder or tracker fault) the failure is logged and the tap is
    /// started again after a back-off that doubles up to <see cref="_maxBackoff"/>: one tap's fault must not stop serve,
    /// nor silently leave it deaf. A file tap goes on from the frame after the failure (re-reading it would apply its
    /// events twice), with a fresh tracker; a live tap opens its interface again.
    /// </summary>
    private async Task RunAsync(TapOptions tap, CaptureTapStatus status, CancellationToken ct)
    {
        IFrameSource? file = null;
        try
        {
            for (var failures = 0; ; failures++)
            {
                string why;
                Exception? error = null;
                try
                {
                    file ??= tap.Pcap is null ? null : CaptureFile.Open(tap.Pcap);
                    await RunOnceAsync(tap, status, file, ct);
                    if (file is not null || ct.IsCancellationRequested)
                    {
                        return;
                    }

                    // A live capture only ends when its interface went away (or down): it may come back.
                    why = "the capture ended (interface gone or down)";
                }
                catch (Exception e) when ((file is null || e is not CaptureFormatException) && !(e is OperationCanceledException && ct.IsCancellationRequested) && e is not FileNotFoundException and not DirectoryNotFoundException)
                {
                    why = $"{e.GetType().Name}: {e.Message}";
                    error = e is CaptureFormatException ? null : e;
                }

                var wait = TimeSpan.FromMilliseconds(Math.Min(_maxBackoff.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(failures, 16))));
                status.Restarts++;
                status.Error = why;
                resilience.TapRestarted(status.Name);
                log.LogError(error, "tap {Tap} failed after {Frames} frames ({Error}); restarting in {Wait} (restart {Restart})", status.Name, status.Frames, why, wait, status.Restarts);
                await Task.Delay(wait, time, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            status.Error = e.Message;
            log.LogError("tap {Tap}: {Error}", status.Name, e.Message);
        }
        finally
        {
            status.Finished = true;
            file?.Dispose();
        }
    }

    private async Task RunOnceAsync(TapOptions tap, CaptureTapStatus status, IFrameSource? file, CancellationToken ct)
    {
        var pending = new List<UeEvent>();
        var feed = new TrackerFeed(
            (e, _) => pending.Add(e),
            (note, _) => log.LogDebug("tap {Tap}: {Note}", status.Name, note),
            drop =>
            {
                if (drop.Layer != DropLayer.Ignored)
                {
                    metrics.DecodeError(drop.ToString());
                }
            },
            CapturePipelineOptions.Default with { SctpOverUdpPort = (ushort)tap.SctpUdpPort });
        // The configured eNB ids say whether a cell identity names a macro or a Home eNB (captures without S1 Setup).
        feed.UseConfiguredEnbs(options.Value.Sites.SelectMany(site => site.Enbs).Select(id => new EnbId(id)));
        status.Statistics = feed.Statistics;

        // The dashboard's ladder: each S1AP message on the UE it belongs to, eNB on the left, MME on the right.
        feed.S1apPlaced = dashboard.Feed.S1ap;
        var live = tap.Interface is not null;
        LiveCaptureSource? capture = null;
        try
        {
            // The token wakes a blocked live read at once (pcap_breakloop): stopping the service stops the tap.
            using var opened = live ? capture = new LiveCaptureSource(tap.Interface!, pipeline: CapturePipelineOptions.Default with { SctpOverUdpPort = (ushort)tap.SctpUdpPort }, cancellation: ct) : null;
            var source = opened ?? file!;
            log.LogInformation("tap {Tap}: {Mode}", status.Name, live ? "capturing live" : tap.Speed == TapSpeed.Max ? "replaying as fast as possible" : $"replaying at x{tap.Rate} the recorded pace");
            var start = clock.ServiceNow();
            var first = -1L;
            while (!ct.IsCancellationRequested && source.TryReadNext(out var frame))
            {
                status.Frame();
                TimeSpan? offset = null;
                if (!live && tap.Speed == TapSpeed.Recorded)
                {
                    if (first < 0)
                    {
                        first = frame.TimestampNanos;
                    }

                    offset = TimeSpan.FromTicks((long)((frame.TimestampNanos - first) / 100 / tap.Rate));
                    var wait = start + offset.Value - clock.ServiceNow();
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, time, ct);
                    }
                }

                // The frame's bytes are the reader's until its next read: the pipeline is done with them on return.
                feed.Process(frame);
                foreach (var e in pending)
                {
                    // Recorded: the frame's time on the capture's time line, shifted to start now; otherwise the moment it is seen.
                    var post = sink.PostAsync(e with { At = offset is null ? clock.ServiceNow() : start + offset.Value }, ct);
                    if (!post.IsCompletedSuccessfully)
                    {
                        if (live)
                        {
                            // Stay on the capture thread: libpcap's blocking reads must not run on the thread pool.
                            post.AsTask().GetAwaiter().GetResult();
                        }
                        else
                        {
                            await post;
                        }
                    }

                    status.Event();
                }

                pending.Clear();
            }

            if (source is ITruncatableSource { Truncation: { } cut })
            {
                status.Error = cut.Message;
                metrics.DecodeError("capture-truncated");
                log.LogWarning("tap {Tap}: {Cut}; the {Frames} frames before it were applied", status.Name, cut.Message, status.Frames);
            }
        }
        catch (CaptureFormatException e) when (!live)
        {
            status.Error = e.Message;
            metrics.DecodeError("capture-file");
            log.LogError("tap {Tap} stopped after {Frames} frames: {Error}", status.Name, status.Frames, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            // The summary also when the service stops (the live tap's usual end): kernel and interface drops included.
            var kernel = capture?.Statistics();
            capture?.Dispose();
            log.LogInformation(
                "tap {Tap}: {Frames} frames, {Messages} S1AP messages, {NgapMessages} NGAP messages, {Events} UE events, {Undecodable} undecodable ({Drops}){Capture}",
                status.Name,
                status.Frames,
                feed.Statistics.S1apMessages,
                feed.Statistics.NgapMessages,
                status.Events,
                feed.Statistics.Undecodable,
                string.Join(", ", feed.Statistics.Dropped.Where(d => d.Key.Layer != DropLayer.Ignored).Select(d => $"{d.Key}: {d.Value}")),
                kernel is { } k ? $"; capture: {k.Received} past the kernel filter, {k.KernelDropped} dropped by the kernel, {k.InterfaceDropped} by the interface" : string.Empty);
        }
    }
}
