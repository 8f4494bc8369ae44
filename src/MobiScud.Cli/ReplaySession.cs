using System.Globalization;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Tracking;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Cli;

/// <summary>One line of a UE's timeline: what the tracker saw, and what the MC decided about it.</summary>
public sealed record ReplayEntry(TimeSpan At, long Frame, UeEvent Event, IReadOnlyList<ControlCommand> Commands);

/// <summary>Everything one replay produced.</summary>
public sealed record ReplayResult(
    string Source,
    PipelineStatistics Statistics,
    IReadOnlyList<ReplayEntry> Entries,
    IReadOnlyList<string> Notes,
    IReadOnlyDictionary<EnbId, SiteId> Sites,
    TrackerState Tracker);

/// <summary>
/// Capture -> pipeline -> UE tracker -> MC, in one pass. The MC's hypervisor outcomes are modelled as immediate
/// (a created or resumed PVM reports PvmStarted at once; migrations are left in flight, since a replay has no VMs),
/// so the commands shown are those the MC would issue to real adapters.
/// </summary>
public sealed class ReplaySession : ISignallingSink
{
    private readonly Dictionary<EnbId, SiteId> _sites;
    private readonly bool _defaultSites;
    private readonly SiteId _core = new("core");
    private readonly Dictionary<UeId, UeState> _mc = [];
    private readonly List<ReplayEntry> _entries = [];
    private readonly List<string> _notes = [];
    private McConfig _config;
    private TrackerState _tracker = TrackerState.Empty;
    private long _firstNanos = -1;
    private SignallingPipeline? _pipeline;

    /// <param name="sites">eNB -> site map; null gives every eNB its own site ("site-enb-N") as it appears.</param>
    public ReplaySession(IReadOnlyDictionary<EnbId, SiteId>? sites = null, bool runMc = true)
    {
        _defaultSites = sites is null;
        _sites = sites is null ? [] : new Dictionary<EnbId, SiteId>(sites);
        _config = new McConfig(_sites, _core);
        RunMc = runMc;
    }

    public bool RunMc { get; }

    public IReadOnlyList<ReplayEntry> Entries => _entries;

    public TrackerState Tracker => _tracker;

    public ReplayResult Run(IFrameSource source, string name, PipelineOptions? options = null, CancellationToken cancellation = default)
    {
        _pipeline = new SignallingPipeline(this, options);
        _pipeline.Run(source, cancellation);
        return new ReplayResult(name, _pipeline.Statistics, _entries, _notes, _sites, _tracker);
    }

    /// <summary>Feeds one tracker input (what the Orleans host or testbed would do with its own transport).</summary>
    public void Feed(TrackerInput input, long frame)
    {
        var step = UeTracker.Apply(_tracker, input);
        _tracker = step.State;
        foreach (var note in step.Notes)
        {
            _notes.Add(string.Create(CultureInfo.InvariantCulture, $"{input.At.TotalSeconds:0.000000} frame {frame}: {note}"));
        }

        foreach (var e in step.Events)
        {
            EnsureSites(e);
            _entries.Add(new ReplayEntry(e.At, frame, e, RunMc ? Decide(e) : []));
        }
    }

    void ISignallingSink.OnS1ap(in PayloadContext context, S1apSummary summary) =>
        Feed(S1apSignalFactory.From(summary, At(context), context.Source, context.Destination), context.FrameNumber);

    void ISignallingSink.OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
        var input = kind == UdpPayloadKind.Gtpu
            ? GtpSignalFactory.FromGtpu(payload, At(context), context.Source, context.Destination, out var error)
            : GtpSignalFactory.FromGtpc(payload, At(context), context.Source, context.Destination, out error);
        if (error is not null)
        {
            _pipeline?.CountDropped(new DropReason(kind == UdpPayloadKind.Gtpu ? DropLayer.Gtpu : DropLayer.Gtpc, error));
        }

        if (input is not null)
        {
            Feed(input, context.FrameNumber);
        }
    }

    private TimeSpan At(in PayloadContext context)
    {
        if (_firstNanos < 0)
        {
            _firstNanos = context.TimestampNanos;
        }

        return TimeSpan.FromTicks((context.TimestampNanos - _firstNanos) / 100);
    }

    private void EnsureSites(UeEvent e)
    {
        if (!_defaultSites)
        {
            return;
        }

        var enbs = e switch
        {
            UeAttached a => [a.Enb],
            HandoverPrepared p => [p.Source, p.Target],
            HandoverCompleted c => [c.Target],
            PathSwitched p => [p.Target],
            ServiceRequested s => new[] { s.Enb },
            _ => [],
        };
        var added = false;
        foreach (var enb in enbs)
        {
            if (_sites.TryAdd(enb, new SiteId($"site-{enb}")))
            {
                added = true;
            }
        }

        if (added)
        {
            // The MC is a pure function of its configuration: a grown site map is simply the config of the next call.
            _config = new McConfig(_sites, _core);
        }
    }

    private List<ControlCommand> Decide(UeEvent e)
    {
        var all = new List<ControlCommand>();
        var pending = new Queue<UeEvent>();
        pending.Enqueue(e);
        while (pending.TryDequeue(out var next) && all.Count < 64)
        {
            var decision = MobiScudControl.Decide(_config, _mc.GetValueOrDefault(next.Ue), next);
            if (decision.State is { } state)
            {
                _mc[next.Ue] = state;
            }

            foreach (var command in decision.Commands)
            {
                all.Add(command);
                // Immediate hypervisor outcomes, so the replay shows the steering that follows a PVM start.
                switch (command)
                {
                    case CreatePvm c:
                        pending.Enqueue(new PvmStarted(next.At, c.Ue, c.Pvm, c.Site, null));
                        break;
                    case ResumePvm r:
                        pending.Enqueue(new PvmStarted(next.At, r.Ue, r.Pvm, r.Site, null));
                        break;
                }
            }
        }

        return all;
    }
}
