using System.Text.Json;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Pipeline;

/// <summary>
/// Replays JSON-lines control-event files (one UeEvent a line, tagged with "type") into the pipeline, at the
/// recorded pace or as fast as the pipeline takes them. Event times are moved onto the service clock so that
/// taps, timers and hypervisor outcomes share one time line. A bad line is counted and logged with its place.
/// </summary>
internal sealed class EventFileTap(
    IOptions<MobiScudOptions> options,
    EventPipeline pipeline,
    Reconciler reconciler,
    TimeProvider clock,
    TimeProvider time,
    HostingMetrics metrics,
    ILogger<EventFileTap> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var taps = options.Value.Taps.Where(t => t.Events is not null).ToList();
        if (taps.Count == 0)
        {
            return;
        }

        await reconciler.Completed.WaitAsync(stoppingToken);
        await Task.WhenAll(taps.Select(t => ReplayAsync(t.Events!, t.Speed, stoppingToken)));
    }

    private async Task ReplayAsync(string path, TapSpeed speed, CancellationToken ct)
    {
        var start = clock.ServiceNow();
        TimeSpan? first = null;
        var line = 0;
        var posted = 0;
        using var reader = new StreamReader(path);
        while (await reader.ReadLineAsync(ct) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            UeEvent? e;
            try
            {
                e = JsonSerializer.Deserialize<UeEvent>(text, McJson.Options);
            }
            catch (JsonException ex)
            {
                metrics.DecodeError("event-json");
                log.LogWarning("{Path}:{Line}: not a control event: {Error}", path, line, ex.Message);
                continue;
            }

            if (e is null)
            {
                metrics.DecodeError("event-null");
                log.LogWarning("{Path}:{Line}: null event", path, line);
                continue;
            }

            first ??= e.At;
            var offset = e.At - first.Value;
            if (speed == TapSpeed.Recorded)
            {
                var wait = start + offset - clock.ServiceNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, ct);
                }

                e = e with { At = start + offset };
            }
            else
            {
                e = e with { At = clock.ServiceNow() };
            }

            await pipeline.PostAsync(e, ct);
            posted++;
        }

        log.LogInformation("tap {Path}: {Posted} event(s) replayed", path, posted);
    }
}
