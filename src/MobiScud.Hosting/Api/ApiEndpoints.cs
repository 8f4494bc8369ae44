using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Api;

public sealed record UeView(
    string Ue, string? Imsi, string? UeAddress, string Connection, uint? ServingEnb, string Pvm, string PvmStatus, string? PvmSite,
    string? PvmAddress, string? PinnedSite, MigrationView? Migration, SteeringView? Steering, string? PendingHandover,
    SteeringFaultView? SteeringFault = null);

public sealed record MigrationView(string Id, string Ue, string From, string To, TimeSpan StartedAt, bool Cancelling);

public sealed record SteeringView(string Ue, string UeAddress, uint Enb, string SwitchSite, string PvmSite, string? PvmAddress, int Version, int Bearers);

/// <summary>Steering a switch rejected or did not confirm: not installed; the MC sends it again at <see cref="RetryAt"/>.</summary>
public sealed record SteeringFaultView(string Ue, int Version, string Site, string Reason, TimeSpan At, TimeSpan RetryAt, int Failures);

public sealed record SiteView(string Name, int Capacity, int Pvms, bool Drained, uint[] Enbs, string[] Ues);

public sealed record SiteRequest(string? Site);

public sealed record SubscriptionRequest(string? SubscriptionType, string? CallbackReference, FilterCriteria? FilterCriteria);

public sealed record FilterCriteria(AssociateId[]? AssociateId);

public sealed record AssociateId(string? Type, string? Value);

public sealed record SubscriptionView(string SubscriptionType, string CallbackReference, FilterCriteria FilterCriteria, Links Links);

public sealed record Links(Href Self);

public sealed record Href(string Uri);

/// <summary>The REST API: reads over the grains, writes as events into the ordered pipeline, MEC-style subscriptions.</summary>
public static class ApiEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "alive" })).ExcludeFromDescription();
        app.MapGet("/readyz", (Reconciler r, EventPipeline p) => r.Ready && p.Running
            ? Results.Ok(new { status = "ready" })
            : Results.Json(new { status = "starting", detail = "restart reconciliation has not finished" }, statusCode: 503)).ExcludeFromDescription();

        var api = app.MapGroup("/api/v1").WithTags("mc");
        api.MapGet("/ues", async (IGrainFactory g, int? offset, int? limit) =>
            (await Page(g, offset, limit)).Select(View)).WithSummary("UEs known to the MC");
        api.MapGet("/ues/{ue}", async (IGrainFactory g, string ue) =>
            (await g.GetGrain<IUeGrain>(ue).Get()).State is { } s ? Results.Ok(View(s)) : NotFound($"UE '{ue}' is not known")).WithSummary("One UE");
        api.MapGet("/ues/{ue}/timeline", async (IGrainFactory g, string ue) =>
            (await g.GetGrain<IUeGrain>(ue).Get()).State is null ? NotFound($"UE '{ue}' is not known") : Results.Ok((await g.GetGrain<IUeGrain>(ue).Timeline())
                .Select(t => new { at = t.At, kind = t.Kind, detail = t.Detail, commands = t.Commands?.Select(McText.Describe).ToArray() })))
            .WithSummary("The UE's recent events (with the commands the MC issued for each) and notifications, oldest first");
        api.MapGet("/pvms", async (IGrainFactory g) => (await All(g)).Where(s => s.PvmStatus != PvmStatus.None).Select(s => new
        {
            pvm = s.Pvm.Value,
            ue = s.Ue.Value,
            site = s.PvmSite?.Value,
            status = s.PvmStatus.ToString(),
            address = s.PvmAddress?.ToString(),
            pinnedSite = s.PinnedSite?.Value,
        })).WithSummary("Personal VMs and where they run");
        api.MapGet("/migrations", async (IGrainFactory g) => (await All(g)).Where(s => s.Migration is not null).Select(s => MigrationOf(s)!))
            .WithSummary("Live migrations in flight");
        api.MapGet("/steering", async (IGrainFactory g, ISteeringBackend sw) =>
        {
            var states = await All(g);
            return new
            {
                intended = states.Where(s => s.Steering is not null).Select(s => SteeringOf(s.Steering!)),
                installed = (await sw.InventoryAsync()).Select(SteeringOf),
                failed = states.Select(FaultOf).OfType<SteeringFaultView>(),
            };
        }).WithSummary("Steering the MC wants, what the switches hold, and what a switch rejected or did not confirm (retry pending)");
        api.MapGet("/sites", Sites).WithSummary("Edge sites: capacity, PVMs, drain");

        api.MapPut("/pvms/{ue}/pin", (IGrainFactory g, IEventSink sink, IServiceClock clock, IOptions<MobiScudOptions> o, string ue, SiteRequest body) =>
            Pin(g, sink, clock, o.Value, ue, body.Site, "pin")).WithSummary("Pin the UE's PVM to a site (it moves there and stays)");
        api.MapDelete("/pvms/{ue}/pin", (IGrainFactory g, IEventSink sink, IServiceClock clock, IOptions<MobiScudOptions> o, string ue) =>
            Pin(g, sink, clock, o.Value, ue, null, "unpin")).WithSummary("Let the PVM follow the strategy again");
        api.MapPost("/pvms/{ue}/move", (IGrainFactory g, IEventSink sink, IServiceClock clock, IOptions<MobiScudOptions> o, string ue, SiteRequest body) =>
            Pin(g, sink, clock, o.Value, ue, body.Site, "move")).WithSummary("Move the PVM by hand (a move pins it there until unpinned)");
        api.MapPost("/sites/{site}/drain", (IGrainFactory g, IEventSink sink, IServiceClock clock, IOptions<MobiScudOptions> o, string site) =>
            Drain(g, sink, clock, o.Value, site, true)).WithSummary("Drain a site: its PVMs move out, none is placed there");
        api.MapDelete("/sites/{site}/drain", (IGrainFactory g, IEventSink sink, IServiceClock clock, IOptions<MobiScudOptions> o, string site) =>
            Drain(g, sink, clock, o.Value, site, false)).WithSummary("End a drain");

        MapSubscriptions(app.MapGroup("/amsi/v1").WithTags("mec021"), NotificationHub.MobilityType);
        MapSubscriptions(app.MapGroup("/rni/v2").WithTags("mec012"), NotificationHub.CellChangeType);
    }

    private static void MapSubscriptions(RouteGroupBuilder group, string type)
    {
        var prefix = group.MapGet("/subscriptions", async (IGrainFactory g) =>
            (await g.GetGrain<IControlGrain>(GrainNames.Control).Subscriptions()).Where(s => s.SubscriptionType == type).Select(View));
        group.MapPost("/subscriptions", async (IGrainFactory g, NotificationHub hub, HttpRequest request, SubscriptionRequest body) =>
        {
            if (body.SubscriptionType != type)
            {
                return BadRequest($"subscriptionType must be '{type}' here (was '{body.SubscriptionType}')");
            }

            if (!Uri.TryCreate(body.CallbackReference, UriKind.Absolute, out var callback) || (callback.Scheme != "http" && callback.Scheme != "https"))
            {
                return BadRequest($"callbackReference must be an absolute http(s) URI (was '{body.CallbackReference}')");
            }

            var ids = body.FilterCriteria?.AssociateId?.Select(a => a.Value).OfType<string>().ToArray() ?? [];
            var sub = new Subscription(Guid.NewGuid().ToString("N"), type, callback.ToString(), ids);
            await g.GetGrain<IControlGrain>(GrainNames.Control).Subscribe(sub);
            hub.Invalidate();
            var view = View(sub) with { Links = new Links(new Href($"{request.PathBase}{request.Path}/{sub.Id}")) };
            return Results.Created(view.Links.Self.Uri, view);
        });
        group.MapGet("/subscriptions/{id}", async (IGrainFactory g, string id) =>
            (await g.GetGrain<IControlGrain>(GrainNames.Control).Subscriptions()).FirstOrDefault(s => s.Id == id && s.SubscriptionType == type) is { } s
                ? Results.Ok(View(s)) : NotFound($"subscription '{id}' does not exist"));
        group.MapDelete("/subscriptions/{id}", async (IGrainFactory g, NotificationHub hub, string id) =>
        {
            var removed = await g.GetGrain<IControlGrain>(GrainNames.Control).Unsubscribe(id);
            hub.Invalidate();
            return removed ? Results.NoContent() : NotFound($"subscription '{id}' does not exist");
        });
        _ = prefix;
    }

    private static SubscriptionView View(Subscription s) => new(
        s.SubscriptionType, s.CallbackReference, new FilterCriteria([.. s.AssociateIds.Select(a => new AssociateId("UE_IPv4_ADDRESS", a))]), new Links(new Href($"subscriptions/{s.Id}")));

    private static async Task<IResult> Pin(IGrainFactory g, IEventSink sink, IServiceClock clock, MobiScudOptions o, string ue, string? site, string what)
    {
        if (site is not null && site != o.CoreSite && o.Sites.All(s => s.Name != site))
        {
            return BadRequest($"site '{site}' is not configured (known: {string.Join(", ", o.Sites.Select(s => s.Name).Append(o.CoreSite))})");
        }

        if (what != "unpin" && site is null)
        {
            return BadRequest("body must give the target site: {\"site\": \"<name>\"}");
        }

        if ((await g.GetGrain<IUeGrain>(ue).Get()).State is null)
        {
            return NotFound($"UE '{ue}' is not known");
        }

        await sink.PostAsync(new PinRequested(clock.Now, new UeId(ue), site is null ? null : new SiteId(site)));
        return Results.Accepted($"/api/v1/ues/{ue}", new { ue, action = what, site });
    }

    private static async Task<IResult> Drain(IGrainFactory g, IEventSink sink, IServiceClock clock, MobiScudOptions o, string site, bool drain)
    {
        if (o.Sites.All(s => s.Name != site))
        {
            return BadRequest($"site '{site}' is not configured (known: {string.Join(", ", o.Sites.Select(s => s.Name))})");
        }

        await g.GetGrain<IControlGrain>(GrainNames.Control).SetDrained(site, drain);

        // A drain moves the site's PVMs out; ending one lets every UE come back to its nearest site.
        var ues = drain ? (await g.GetGrain<ISiteGrain>(site).Get()).Ues.ToList() : await UeIndex.AllAsync(g);
        foreach (var ue in ues)
        {
            await sink.PostAsync(new ReconcileRequested(clock.Now, new UeId(ue)));
        }

        return Results.Accepted($"/api/v1/sites", new { site, drained = drain, reconciling = ues.Count });
    }

    private static async Task<IEnumerable<SiteView>> Sites(IGrainFactory g, IOptions<MobiScudOptions> o)
    {
        var drained = (await g.GetGrain<IControlGrain>(GrainNames.Control).Drained()).ToHashSet();
        var names = o.Value.Sites.Select(s => s.Name).Append(o.Value.CoreSite);
        var views = new List<SiteView>();
        foreach (var name in names)
        {
            var snap = await g.GetGrain<ISiteGrain>(name).Get();
            var enbs = o.Value.Sites.FirstOrDefault(s => s.Name == name)?.Enbs.ToArray() ?? [];
            views.Add(new SiteView(name, snap.Capacity, snap.Ues.Length, drained.Contains(name), enbs, snap.Ues));
        }

        return views;
    }

    private static async Task<List<UeState>> Page(IGrainFactory g, int? offset, int? limit)
    {
        var ids = (await UeIndex.AllAsync(g)).Skip(Math.Max(0, offset ?? 0)).Take(Math.Clamp(limit ?? 100, 1, 1000));
        var snaps = await Task.WhenAll(ids.Select(id => g.GetGrain<IUeGrain>(id).Get()));
        return [.. snaps.Select(s => s.State).OfType<UeState>()];
    }

    private static async Task<List<UeState>> All(IGrainFactory g)
    {
        var snaps = await Task.WhenAll((await UeIndex.AllAsync(g)).Select(id => g.GetGrain<IUeGrain>(id).Get()));
        return [.. snaps.Select(s => s.State).OfType<UeState>()];
    }

    private static UeView View(UeState s) => new(
        s.Ue.Value, s.Imsi, s.UeAddress?.ToString(), s.Connection.ToString(), s.ServingEnb?.Value, s.Pvm.Value, s.PvmStatus.ToString(), s.PvmSite?.Value,
        s.PvmAddress?.ToString(), s.PinnedSite?.Value, MigrationOf(s), s.Steering is { } st ? SteeringOf(st) : null,
        s.PendingHandover is { } h ? $"{h.Kind} {h.Source} -> {h.Target}" : null, FaultOf(s));

    private static SteeringFaultView? FaultOf(UeState s) => s.SteeringFault is { } f
        ? new SteeringFaultView(s.Ue.Value, f.Intent.Version, f.Site.Value, f.Reason, f.At, f.RetryAt, s.SteeringFailures)
        : null;

    private static MigrationView? MigrationOf(UeState s) =>
        s.Migration is { } m ? new MigrationView(m.Id.ToString(), s.Ue.Value, m.From.Value, m.To.Value, m.StartedAt, m.Cancelling) : null;

    private static SteeringView SteeringOf(SteeringIntent i) =>
        new(i.Ue.Value, i.UeAddress.ToString(), i.Enb.Value, i.SwitchSite.Value, i.PvmSite.Value, i.PvmAddress?.ToString(), i.Version, i.Bearers.Count);

    private static IResult NotFound(string detail) => Results.Problem(detail, statusCode: 404, title: "Not found");

    private static IResult BadRequest(string detail) => Results.Problem(detail, statusCode: 400, title: "Bad request");
}
