using System.Collections.Concurrent;
using System.Threading.Channels;
using MobiScud.Control.Host;
using MobiScud.Control.Model;

namespace MobiScud.Sdn.Steering;

/// <summary>One steering command and when the switches confirmed it (barrier replies of every site touched, and the datapath sync where the programmer has one), or gave up.</summary>
public sealed record SteeringOutcome(InstallSteering? Install, RemoveSteering? Remove, DateTimeOffset Started, DateTimeOffset Finished, bool Confirmed, string? Problem)
{
    /// <summary>The programmer's stages on the same clock as <see cref="Started"/>; null when nothing was sent.</summary>
    public SteeringStages? Stages { get; init; }
}

/// <summary>
/// When a steering command's flow-mods were written, the last barrier reply read, the awaiting code resumed, the
/// datapath flush sent and its reply read (null: no flush), on the backend's clock.
/// </summary>
public sealed record SteeringStages(DateTimeOffset Written, DateTimeOffset BarrierRead, DateTimeOffset Resumed, DateTimeOffset? FlushSent, DateTimeOffset? FlushReplied);

/// <summary>
/// A flow programmer (OpenFlow to Open vSwitch, or the in-memory fabric) as the host layer's steering backend, for
/// in-process hosts (the testbed). Each command's result is kept as a <see cref="SteeringOutcome"/> record; steering
/// a switch refused, did not confirm, or that cannot be compiled for the topology comes back as SteeringFailed on
/// <see cref="Outcomes"/>, which the MC retries. The inventory is the switches' flows read back through the decompiler.
/// </summary>
public sealed class ProgrammerSteeringBackend : ISteeringBackend
{
    private readonly IFlowProgrammer _programmer;
    private readonly Func<SiteId, CancellationToken, Task<IReadOnlyList<FlowEntry>>> _readFlows;
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan> _now;
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();

    /// <summary>Cookie to UE: cookies are a hash of the UE id, and the flows carry nothing else to name it by.</summary>
    private readonly ConcurrentDictionary<ulong, UeId> _owners = new();

    /// <param name="readFlows">Reads the flows a site's switch holds now (inventory).</param>
    /// <param name="now">The MC time SteeringFailed carries.</param>
    public ProgrammerSteeringBackend(
        IFlowProgrammer programmer, SdnTopology topology, Func<SiteId, CancellationToken, Task<IReadOnlyList<FlowEntry>>> readFlows, Func<TimeSpan> now, TimeProvider? time = null)
    {
        _programmer = programmer;
        Topology = topology;
        _readFlows = readFlows;
        _now = now;
        _time = time ?? TimeProvider.System;
    }

    public SdnTopology Topology { get; }

    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    /// <summary>Every steering command carried out, in order, with its timing.</summary>
    public ConcurrentQueue<SteeringOutcome> Results { get; } = new();

    public Task InstallAsync(SteeringIntent intent, CancellationToken ct = default)
    {
        _owners[SteeringCookies.ForUe(intent.Ue)] = intent.Ue;
        return RunAsync(new InstallSteering(intent.Ue, intent), ct);
    }

    public Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default) => RunAsync(new RemoveSteering(ue, switchSite), ct);

    private async Task RunAsync(ControlCommand command, CancellationToken ct)
    {
        var started = _time.GetUtcNow();
        var startedTicks = TimeProvider.System.GetTimestamp();
        var install = command as InstallSteering;
        string? problem;
        bool ok;
        SteeringStages? stages = null;
        try
        {
            var result = await _programmer.ExecuteAsync(command, ct);
            if (result.Times is { } t)
            {
                // Stopwatch timestamps onto this backend's clock, through the pair read at the start.
                DateTimeOffset At(long ticks) => started + TimeProvider.System.GetElapsedTime(startedTicks, ticks);
                stages = new SteeringStages(At(t.Written), At(t.BarrierRead), At(t.Resumed), t.FlushSent == 0 ? null : At(t.FlushSent), t.FlushReplied == 0 ? null : At(t.FlushReplied));
            }

            ok = result.Confirmed || result.Stale;
            problem = result.CompileError ?? (result.Rejections.Any() ? string.Join("; ", result.Rejections) : null);
            if (install is not null)
            {
                if (result.CompileError is { } error)
                {
                    Fail(install.Intent, install.Intent.SwitchSite, $"{SteeringFailureKinds.Rejected}: cannot be compiled for this topology: {error}");
                }

                foreach (var (site, reason) in result.Failures)
                {
                    Fail(install.Intent, site, reason);
                }
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            // The flows went out; the switch did not confirm them. The MC hears it and retries.
            ok = false;
            problem = e.Message;
            if (install is not null)
            {
                Fail(install.Intent, install.Intent.SwitchSite, $"{SteeringFailureKinds.Unconfirmed}: {e.Message}");
            }
        }

        Results.Enqueue(new SteeringOutcome(install, command as RemoveSteering, started, _time.GetUtcNow(), ok, problem) { Stages = stages });
    }

    private void Fail(SteeringIntent intent, SiteId site, string reason) =>
        _outcomes.Writer.TryWrite(new SteeringFailed(_now(), intent.Ue, site, reason, intent.Version));

    public async Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default)
    {
        var result = new List<SteeringIntent>();
        foreach (var site in Topology.Sites)
        {
            result.AddRange(SteeringDecompiler.DecompileSite(Topology, site, await _readFlows(site.Site, ct), _owners));
        }

        return result;
    }
}
