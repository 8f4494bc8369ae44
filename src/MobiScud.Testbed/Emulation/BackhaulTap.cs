using System.Threading.Channels;
using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Testbed.Infrastructure;

namespace MobiScud.Testbed.Emulation;

/// <summary>A frame as the tap saw it: link-layer bytes (Ethernet) and the kernel's capture time.</summary>
internal sealed record TappedFrame(DateTime Timestamp, byte[] Data)
{
    /// <summary>When the tap's thread had it from libpcap (null: not read from a live capture).</summary>
    public DateTimeOffset? ReadAt { get; init; }

    /// <summary>The managed id of the thread that read it (0: none).</summary>
    public int ReaderThread { get; init; }
}

/// <summary>
/// The MC's only view of the EPC: a live capture (<see cref="LiveCaptureSource"/>, libpcap immediate mode: each frame
/// wakes the reader at once, nanosecond kernel timestamps) on the core's mirror port, which carries a copy of both
/// directions of every site uplink. Its own thread writes each frame to a pcap file and hands it to
/// <see cref="Frames"/>; the kernel filter keeps S1-MME (SCTP over UDP 9899) and S1-U (GTP-U 2152).
/// <see cref="Dispose"/> wakes the read at once and leaves the capture's counters in <see cref="Summary"/>.
/// </summary>
internal sealed class BackhaulTap : IDisposable
{
    private readonly LiveCaptureSource _source;
    private readonly PcapWriter _writer;
    // Synchronous continuations: a waiting MC loop runs on this thread as soon as the frame is written, not after a
    // hop through the thread pool (which on a loaded host queues behind other work).
    private readonly Channel<TappedFrame> _frames = Channel.CreateUnbounded<TappedFrame>(new UnboundedChannelOptions { SingleWriter = true, AllowSynchronousContinuations = true });
    private readonly Thread _thread;
    private readonly Action<string>? _onSummary;
    private readonly TimeProvider _time;
    private readonly int? _realtimePriority;
    private long _captured;

    private BackhaulTap(LiveCaptureSource source, PcapWriter writer, Action<string>? onSummary, TimeProvider time, int? realtimePriority)
    {
        _source = source;
        _writer = writer;
        _onSummary = onSummary;
        _time = time;
        _realtimePriority = realtimePriority;
        _thread = new Thread(Read) { IsBackground = true, Name = $"backhaul tap {source.Interface}" };
        _thread.Start();
    }

    public ChannelReader<TappedFrame> Frames => _frames.Reader;

    public long Captured => Interlocked.Read(ref _captured);

    /// <summary>Why the capture ended early (the device went away), if it did.</summary>
    public string? Error { get; private set; }

    /// <summary>Why the reader thread runs at normal priority though a real-time one was asked; null otherwise.</summary>
    public string? PriorityProblem { get; private set; }

    /// <summary>After <see cref="Dispose"/>: frames captured, and what the kernel and the interface dropped.</summary>
    public string? Summary { get; private set; }

    public const string Filter = "udp port 9899 or udp port 2152";

    /// <param name="onSummary">Receives <see cref="Summary"/> when the tap is disposed (the experiment's log).</param>
    /// <param name="realtimePriority">SCHED_RR priority (1-99) for the reader thread, which also runs the MC's decode,
    /// tracker and decision when the MC waits for a frame; null: normal priority.</param>
    public static BackhaulTap Open(string netns, string device, string pcapPath, Action<string>? onSummary = null, int? realtimePriority = null, TimeProvider? time = null)
    {
        // The capture socket belongs to the namespace it was opened in: open it there; it can be read from any thread.
        var source = Netns.Run(netns, () =>
        {
            try
            {
                // Immediate mode for the lowest reaction time; a 64 KiB snap length keeps 1,024 ring slots (the testbed's rate is low).
                return new LiveCaptureSource(device, new LiveCaptureOptions { Filter = Filter, Mode = LiveCaptureMode.Immediate, SnapLength = 65535 });
            }
            catch (CaptureFormatException e)
            {
                throw new TestbedException($"capture device {device} in namespace {netns}: {e.Problem}");
            }
        });
        try
        {
            return new BackhaulTap(source, new PcapWriter(new FileStream(pcapPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), LinkType.Ethernet, 65535), onSummary, time ?? TimeProvider.System, realtimePriority);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    private void Read()
    {
        if (_realtimePriority is { } priority)
        {
            PriorityProblem = RealtimeThread.TrySetCurrent(priority);
        }

        try
        {
            while (_source.TryReadNext(out var frame))
            {
                var readAt = _time.GetUtcNow();

                // To the MC first, then to the file: a write that flushes the file buffer must not delay the decision.
                var data = frame.Data.ToArray();
                Interlocked.Increment(ref _captured);
                _frames.Writer.TryWrite(new TappedFrame(DateTime.UnixEpoch.AddTicks(frame.TimestampNanos / 100), data) { ReadAt = readAt, ReaderThread = Environment.CurrentManagedThreadId });
                lock (_writer)
                {
                    _writer.Write(frame.TimestampNanos, data, frame.OriginalLength);
                }
            }
        }
        catch (CaptureFormatException e)
        {
            Error = e.Message;
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public void Dispose()
    {
        _source.Stop();
        if (!_thread.Join(TimeSpan.FromSeconds(5)))
        {
            Error ??= "the capture thread did not stop within 5 s";
        }

        var s = _source.Statistics();
        _source.Dispose();
        lock (_writer)
        {
            _writer.Dispose();
        }

        Summary = $"{_source.Interface}: {Captured} frames captured, {s.KernelDropped} dropped by the kernel, {s.InterfaceDropped} by the interface{(Error is null ? string.Empty : $"; {Error}")}";
        _frames.Writer.TryComplete();
        _onSummary?.Invoke($"backhaul tap {Summary}");
    }
}
