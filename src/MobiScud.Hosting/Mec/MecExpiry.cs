using System.Text.Json.Nodes;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Mec;

/// <summary>
/// Ends MEC subscriptions at their expiryDeadline (with an ExpiryNotification to the subscriber) and registrations at
/// their expiryTime. Every silo sweeps; the control grain's delete succeeds for one of them, and only that one notifies.
/// </summary>
internal sealed class MecExpiry(IGrainFactory grains, NotificationHub hub, TimeProvider clock, TimeProvider time, ILogger<MecExpiry> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SweepAsync();
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // Storage or cluster down: the next sweep tries again; nothing was deleted unless persisted.
                    log.LogWarning("MEC expiry sweep failed: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task SweepAsync()
    {
        var control = grains.GetGrain<IControlGrain>(GrainNames.Control);
        var now = clock.ServiceNow();
        foreach (var sub in await control.Subscriptions())
        {
            if (MecType.Find(sub.SubscriptionType) is not { } type || sub.Representation is null || JsonNode.Parse(sub.Representation) is not JsonObject o
                || MecSubscriptions.Filter(type, o).ExpiryDeadline is not { } deadline || deadline > now)
            {
                continue;
            }

            if (await control.Unsubscribe(sub.Id))
            {
                hub.Invalidate();
                var self = o["_links"]?["self"]?["href"]?.GetValue<string>() ?? sub.Id;
                hub.Enqueue(sub, type.Api == MecApi.Amsi ? MecNotifications.AmsExpiry(self, deadline, now) : MecNotifications.RniExpiry(self, deadline, now));
                log.LogInformation("MEC subscription {Id} ({Type}) expired", sub.Id, type.Name);
            }
        }

        foreach (var r in await control.Registrations())
        {
            if (r.ExpiresAt is { } at && at <= now && await control.Deregister(r.Id))
            {
                log.LogInformation("application mobility service {Id} expired", r.Id);
            }
        }
    }
}
