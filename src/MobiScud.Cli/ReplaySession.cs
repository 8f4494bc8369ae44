using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Tracking;

namespace MobiScud.Cli;

/// <summary>One line of a UE's timeline: what the tracker saw, and what the MC decided about it.</summary>
internal sealed record ReplayEntry(TimeSpan At, long Frame, UeEvent Event, IReadOnlyList<ControlCommand> Commands);

/// <summary>Everything one replay produced.</summary>
internal sealed record ReplayResult(
    string Source,
    PipelineStatistics Statistics,
    IReadOnlyList<ReplayEntry> Entries,
    IReadOnlyList<string> Notes,
    IReadOnlyDictionary<EnbId, SiteId> Sites,
    TrackerState Tracker)
{
    /// <summary>
    /// Each entry's UE, as an index into <see cref="UeIds"/> (the UEs in order of first entry), recorded as the entries
    /// arrive; null when not known. With it `replay --json` groups the timeline by UE from these integers, without a
    /// pass that reads every entry's event (objects the render then reads again, a cache miss each time on a large capture).
    /// </summary>
    public IReadOnlyList<int>? EntryUes { get; init; }

    public IReadOnlyList<UeId>? UeIds { get; init; }
}

/// <summary>
/// Capture -> pipeline -> UE tracker -> MC, in one pass, through the host layer's <see cref="InlineMcHost"/>. Its
/// backends are models: PVMs are <see cref="ImmediatePvmModel"/> (a created or resumed PVM reports PvmStarted at once;
/// migrations stay in flight, since a replay has no VMs), switches are in memory and timers are recorded, not fired
/// (a capture has no time after its last frame). So the commands shown are those the MC would issue to real backends.
/// </summary>
internal sealed class ReplaySession
{
    private readonly Dictionary<EnbId, SiteId> _sites;
    private readonly bool _defaultSites;
    private readonly SiteId _core = new("core");
    private readonly InlineMcHost _mc;
    private readonly List<ReplayEntry> _entries = [];
    private readonly List<string> _notes = [];
    private readonly bool _retain;
    // Each UE's index in order of first entry, and the index of each retained entry's UE (ReplayResult.EntryUes).
    private readonly Dictionary<UeId, int> _ues = [];
    private readonly List<UeId> _ueIds = [];
    private readonly List<int> _entryUes = [];
    private readonly CountedTimers _countedTimers = new();
    private readonly RecordedTimers? _recordedTimers;
    private TrackerFeed _feed;
    private McConfig _config;
    private TimeSpan _now;

    /// <param name="sites">eNB -> site map; null gives every eNB its own site ("site-enb-N") as it appears.</param>
    /// <param name="retain">
    /// Keep every entry and note for the result (a file's timeline). False for the live view, which streams them and
    /// must run for days: it then keeps counts, the distinct UEs and the first <see cref="KeptNotes"/> notes only.
    /// </param>
    public ReplaySession(IReadOnlyDictionary<EnbId, SiteId>? sites = null, bool runMc = true, PipelineOptions? options = null, bool retain = true)
    {
        _retain = retain;
        _defaultSites = sites is null;
        _sites = sites is null ? [] : new Dictionary<EnbId, SiteId>(sites);
        _config = new McConfig(_sites, _core);
        RunMc = runMc;
        // A replay records the timers the MC asks for; the live view only counts them (a list of every timer would grow
        // for as long as the capture runs).
        _recordedTimers = retain ? new RecordedTimers() : null;
        ITimerScheduler timers = _recordedTimers ?? (ITimerScheduler)_countedTimers;
        var dispatcher = new CommandDispatcher(new ImmediatePvmModel(() => _now), new InMemorySteering(), timers, () => _now);
        _mc = new InlineMcHost(_ => _config, dispatcher);
        _feed = NewFeed(options);
    }

    public bool RunMc { get; }

    /// <summary>Raised for each entry as soon as the MC has decided on it (the live view streams these).</summary>
    public event Action<ReplayEntry>? EntryAdded;

    public IReadOnlyList<ReplayEntry> Entries => _entries;

    /// <summary>Notes kept when entries are not retained (the live summary prints this many).</summary>
    public const int KeptNotes = 20;

    /// <summary>Entries produced so far, retained or not.</summary>
    public long EntryCount { get; private set; }

    /// <summary>Tracker notes produced so far, kept or not.</summary>
    public long NoteCount { get; private set; }

    /// <summary>Timers the MC asked for (kept when entries are retained, else only counted; none fires in a replay).</summary>
    public long TimersScheduled => _recordedTimers?.Scheduled.Count ?? _countedTimers.Count;

    /// <summary>Distinct UEs of the entries so far.</summary>
    public int UeCount => _ues.Count;

    public TrackerState Tracker => _feed.Tracker;

    /// <summary>Every UE's MC state after the replay.</summary>
    public IReadOnlyDictionary<UeId, UeState> States => _mc.States;

    public ReplayResult Run(IFrameSource source, string name, PipelineOptions? options = null, CancellationToken cancellation = default)
    {
        if (options is not null)
        {
            _feed = NewFeed(options);
        }

        _feed.Run(source, cancellation);
        return Result(name);
    }

    /// <summary>What the session has produced so far (a live view stopped by a failure still sums it up).</summary>
    public ReplayResult Result(string name) => new(name, _feed.Statistics, _entries, _notes, _sites, _feed.Tracker) { EntryUes = _entryUes, UeIds = _ueIds };

    /// <summary>Feeds one tracker input (what the Orleans host or testbed would do with its own transport).</summary>
    public void Feed(TrackerInput input, long frame) => _feed.Feed(input, frame);

    private TrackerFeed NewFeed(PipelineOptions? options)
    {
        var feed = new TrackerFeed(OnEvent, OnNote, options: options);
        if (!_defaultSites)
        {
            // A cell identity reads as a macro or a Home eNB id: the operator's map says which eNBs exist.
            feed.UseConfiguredEnbs(_sites.Keys);
        }

        return feed;
    }

    private void OnNote(string note, long frame)
    {
        NoteCount++;
        if (_retain || _notes.Count < KeptNotes)
        {
            _notes.Add(note);
        }
    }

    private void OnEvent(UeEvent e, long frame)
    {
        EnsureSites(e);
        var entry = new ReplayEntry(e.At, frame, e, RunMc ? Decide(e) : []);
        EntryCount++;
        ref var ue = ref CollectionsMarshal.GetValueRefOrAddDefault(_ues, e.Ue, out var known);
        if (!known)
        {
            ue = _ues.Count - 1;
            if (_retain)
            {
                _ueIds.Add(e.Ue);
            }
        }

        if (_retain)
        {
            _entries.Add(entry);
            _entryUes.Add(ue);
        }

        EntryAdded?.Invoke(entry);
    }

    private void EnsureSites(UeEvent e)
    {
        if (!_defaultSites)
        {
            return;
        }

        if (e is EnbIdentified named)
        {
            // Same eNB, better name: its site goes with it (the PVMs there stay where they are), and the old name
            // leaves the map once no association of the tracker carries it.
            if (_sites.TryGetValue(named.Was, out var site))
            {
                _sites.TryAdd(named.Now, site);
                if (!_feed.Tracker.Enbs.Values.Any(i => i.Id == named.Was))
                {
                    _sites.Remove(named.Was);
                }

                _config = new McConfig(_sites, _core);
            }

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

    private IReadOnlyList<ControlCommand> Decide(UeEvent e)
    {
        _now = e.At;
        var decided = _mc.HandleAsync(e);

        // Every replay backend is in memory and answers at once: the step has finished here, in capture order.
        return decided.IsCompletedSuccessfully ? decided.Result : throw new InvalidOperationException($"a replay backend did not complete {e.GetType().Name} for {e.Ue} at once");
    }
}

/// <summary>Timers that are counted and never fire: the live view's, so that a long capture keeps no list of them.</summary>
internal sealed class CountedTimers : ITimerScheduler
{
    public ChannelReader<UeEvent> Outcomes { get; } = OutcomeChannel.None();

    public long Count { get; private set; }

    public void Schedule(ScheduleTimer timer) => Count++;
}
