using System.Diagnostics.Metrics;

namespace MobiScud.Hosting.Pipeline;

/// <summary>
/// Instruments for faults the service survives (exported on /metrics with the others, same meter name): quarantined
/// UEs, storage reachability and wipes, tap restarts, REST writes refused because storage did not take them.
/// </summary>
public sealed class ResilienceMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _quarantined;
    private readonly Counter<long> _tapRestarts;
    private readonly Counter<long> _unpersisted;
    private readonly Counter<long> _wipes;

    public ResilienceMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(Adapters.HostingMetrics.MeterName) ?? new Meter(Adapters.HostingMetrics.MeterName);
        _quarantined = _meter.CreateCounter<long>("mobiscud.ues.quarantined", "{ue}", "UEs quarantined because the MC threw on one of their events");
        _tapRestarts = _meter.CreateCounter<long>("mobiscud.tap.restarts", "{restart}", "Taps that failed and were restarted, by tap");
        _unpersisted = _meter.CreateCounter<long>("mobiscud.api.unpersisted", "{request}", "REST writes answered 503 because storage did not take the event in time");
        _wipes = _meter.CreateCounter<long>("mobiscud.storage.wipes", "{wipe}", "Times storage came back without its generation marker (wiped) and was rebuilt");
        _meter.CreateObservableGauge("mobiscud.storage.reachable", () => StorageReachable ? 1 : 0, "{bool}", "1 when the last storage probe succeeded");
    }

    public bool StorageReachable { get; set; } = true;

    public void Quarantined()
    {
        _quarantined.Add(1);
    }

    public void TapRestarted(string tap) => _tapRestarts.Add(1, new KeyValuePair<string, object?>("tap", tap));

    public void Unpersisted() => _unpersisted.Add(1);

    public void Wiped() => _wipes.Add(1);

    public void Dispose() => _meter.Dispose();
}
