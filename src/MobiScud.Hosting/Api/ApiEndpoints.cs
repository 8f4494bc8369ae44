using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Api;

internal sealed record UeView(
    string Ue, string? Imsi, string? UeAddress, string Connection, uint? ServingEnb, string Pvm, string PvmStatus, string? PvmSite,
    string? PvmAddress, string? PinnedSite, MigrationView? Migration, SteeringView? Steering, string? PendingHandover,
    SteeringFaultView? SteeringFault = null, QuarantineNote? Quarantine = null);

internal sealed record MigrationView(string Id, string Ue, string From, string To, TimeSpan StartedAt, bool Cancelling);

internal sealed record SteeringView(string Ue, string UeAddress, uint Enb, string SwitchSite, string PvmSite, string? PvmAddress, int Version, int Bearers);

/// <summary>Steering a switch rejected or did not confirm: not installed; the MC sends it again at <see cref="RetryAt"/>.</summary>
internal sealed record SteeringFaultView(string Ue, int Version, string Site, string Reason, TimeSpan At, TimeSpan RetryAt, int Failures);

internal sealed record SiteView(string Name, int Capacity, int Pvms, bool Drained, uint[] Enbs, string[] Ues);

internal sealed record SiteRequest(string? Site);

/// <summary>The REST API: reads over the grains, writes as events into the ordered pipeline, MEC-style subscriptions.</summary>
internal static class ApiEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "alive" })).ExcludeFromDescription();
        app.MapGet("/readyz", (Reconciler r, EventPipeline p, StorageWatch storage) =>
            !r.Ready || !p.Running ? Results.Json(new { status = "starting", detail = "restart reconciliation has not finished" }, statusCode: 503)
            : storage.Problem is { } problem ? Results.Json(new { status = "degraded", detail = problem }, statusCode: 503)
            : r.Rebuilding ? Results.Json(new { status = "rebuilding", detail = "storage was wiped: writing back the live state" }, statusCode: 503)
            : Results.Ok(new { status = "ready" })).ExcludeFromDescription();

        var api = app.MapGroup("/api/v1").WithTags("mc").AddEndpointFilter(Unavailable);
        api.MapGet("/ues", async (IGrainFactory g, int? offset, int? limit) =>
            (await Page(g, offset, limit)).Select(View)).WithSummary("UEs known to the MC");
        api.MapGet("/ues/{ue}", async (IGrainFactory g, string ue) =>
            await Known(g, ue) is not { } snap ? NotFound($"UE '{Clip(ue)}' is not known")
            : snap.State is { } s ? Results.Ok(View(s, snap.Quarantine)) : Results.Ok(new { ue, quarantine = snap.Quarantine })).WithSummary("One UE");
        api.MapGet("/ues/{ue}/timeline", async (IGrainFactory g, string ue) =>
            await Known(g, ue) is null ? NotFound($"UE '{Clip(ue)}' is not known") : Results.Ok((await g.GetGrain<IUeGrain>(ue).Timeline())
                .Select(t => new { at = t.At, kind = t.Kind, detail = t.Detail, commands = t.Commands?.Select(McText.Describe).ToArray() })))
            .WithSummary("The UE's recent events (with the commands the MC issued for each) and notifications, oldest first");
        api.MapGet("/quarantine", async (IGrainFactory g) => (await Snapshots(g)).Where(s => s.Snapshot.Quarantine is not null)
            .Select(s => new { ue = s.Ue, quarantine = s.Snapshot.Quarantine })).WithSummary("UEs whose events the MC threw on: their events are set aside");
        api.MapDelete("/ues/{ue}/quarantine", async (IGrainFactory g, EventPipeline pipeline, TimeProvider clock, IOptions<MobiScudOptions> o, string ue) =>
        {
            if (await Known(g, ue) is null)
            {
                return NotFound($"UE '{Clip(ue)}' is not known");
            }

            if (!await g.GetGrain<IUeGrain>(ue).Release())
            {
                return NotFound($"UE '{Clip(ue)}' is not quarantined");
            }

            // What was set aside meanwhile is gone: square the UE with the hypervisor and the switches.
            return await Submitted(pipeline, new ReconcileRequested(clock.ServiceNow(), new UeId(ue)), o.Value, $"/api/v1/ues/{ue}", new { ue, action = "released" });
        }).WithSummary("Lift a UE's quarantine; the MC reconciles it");
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

        api.MapPut("/pvms/{ue}/pin", (IGrainFactory g, EventPipeline sink, TimeProvider clock, IOptions<MobiScudOptions> o, string ue, SiteRequest body) =>
            Pin(g, sink, clock, o.Value, ue, body.Site, "pin")).WithSummary("Pin the UE's PVM to a site (it moves there and stays)");
        api.MapDelete("/pvms/{ue}/pin", (IGrainFactory g, EventPipeline sink, TimeProvider clock, IOptions<MobiScudOptions> o, string ue) =>
            Pin(g, sink, clock, o.Value, ue, null, "unpin")).WithSummary("Let the PVM follow the strategy again");
        api.MapPost("/pvms/{ue}/move", (IGrainFactory g, EventPipeline sink, TimeProvider clock, IOptions<MobiScudOptions> o, string ue, SiteRequest body) =>
            Pin(g, sink, clock, o.Value, ue, body.Site, "move")).WithSummary("Move the PVM by hand (a move pins it there until unpinned)");
        api.MapPost("/sites/{site}/drain", (IGrainFactory g, IEventSink sink, TimeProvider clock, IOptions<MobiScudOptions> o, string site) =>
            Drain(g, sink, clock, o.Value, site, true)).WithSummary("Drain a site: its PVMs move out, none is placed there");
        api.MapDelete("/sites/{site}/drain", (IGrainFactory g, IEventSink sink, TimeProvider clock, IOptions<MobiScudOptions> o, string site) =>
            Drain(g, sink, clock, o.Value, site, false)).WithSummary("End a drain");

        Mec.MecEndpoints.Map(app);
    }

    private static async Task<IResult> Pin(IGrainFactory g, EventPipeline sink, TimeProvider clock, MobiScudOptions o, string ue, string? site, string what)
    {
        if (site is not null && site != o.CoreSite && o.Sites.All(s => s.Name != site))
        {
            return BadRequest($"site '{Clip(site)}' is not configured (known: {string.Join(", ", o.Sites.Select(s => s.Name).Append(o.CoreSite))})");
        }

        if (what != "unpin" && site is null)
        {
            return BadRequest("body must give the target site: {\"site\": \"<name>\"}");
        }

        if ((await Known(g, ue))?.State is null)
        {
            return NotFound($"UE '{Clip(ue)}' is not known");
        }

        return await Submitted(sink, new PinRequested(clock.ServiceNow(), new UeId(ue), site is null ? null : new SiteId(site)), o, $"/api/v1/ues/{ue}", new { ue, action = what, site });
    }

    /// <summary>
    /// Persist, then acknowledge: 202 once the UE's grain has persisted the event; 503 with Retry-After when storage did
    /// not take it within Api:WriteDeadline (the event may still be applied: pin, move and release are idempotent).
    /// </summary>
    private static async Task<IResult> Submitted(EventPipeline pipeline, UeEvent e, MobiScudOptions o, string location, object body)
    {
        if (await pipeline.SubmitAsync(e, o.Api.WriteDeadline))
        {
            return Results.Accepted(location, body);
        }

        return Retry($"the event was not persisted within {o.Api.WriteDeadline.TotalSeconds:0.#} s (storage unreachable?): retry");
    }

    /// <summary>The UE's snapshot if the index knows it; an unknown id activates no grain (a scan of ids must not fill memory).</summary>
    private static async Task<UeSnapshot?> Known(IGrainFactory g, string ue) =>
        ue.Length <= 256 && await g.GetGrain<IUeIndexGrain>(UePartitions.PartitionOf(ue)).Contains(ue) ? await g.GetGrain<IUeGrain>(ue).Get() : null;

    private static IResult Retry(string detail) => new RetryResult(detail);

    /// <summary>503 with a Retry-After header: the client should try again shortly.</summary>
    private sealed class RetryResult(string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.RequestServices.GetService<ResilienceMetrics>()?.Unpersisted();
            httpContext.Response.Headers.RetryAfter = "1";
            return Results.Problem(detail, statusCode: 503, title: "Service unavailable").ExecuteAsync(httpContext);
        }
    }

    /// <summary>
    /// A request that reached storage or the cluster while it was down answers 503 with Retry-After (nothing was
    /// acknowledged), not a 500 with a stack trace.
    /// </summary>
    internal static async ValueTask<object?> Unavailable(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (IsUnavailable(e) && !context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            context.HttpContext.RequestServices.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger("MobiScud.Hosting.Api")
                .LogWarning("{Method} {Path}: storage or cluster unavailable: {Error}", context.HttpContext.Request.Method, context.HttpContext.Request.Path, e.Message);
            return Retry("storage or cluster unavailable: nothing was changed; retry");
        }
    }

    private static bool IsUnavailable(Exception e) => TransientFaults.Is(e);

    /// <summary>What an error message echoes of a client's value: enough to recognise it, never megabytes.</summary>
    public static string Clip(string? value, int max = 100) => value is null ? "" : value.Length <= max ? value : $"{value[..max]}... ({value.Length} characters)";

    private static async Task<IResult> Drain(IGrainFactory g, IEventSink sink, TimeProvider clock, MobiScudOptions o, string site, bool drain)
    {
        if (o.Sites.All(s => s.Name != site))
        {
            return BadRequest($"site '{Clip(site)}' is not configured (known: {string.Join(", ", o.Sites.Select(s => s.Name))})");
        }

        await g.GetGrain<IControlGrain>(GrainNames.Control).SetDrained(site, drain);

        // A drain moves the site's PVMs out; ending one lets every UE come back to its nearest site.
        var ues = drain ? (await g.GetGrain<ISiteGrain>(site).Get()).Ues.ToList() : await UePartitions.AllAsync(g);
        foreach (var ue in ues)
        {
            await sink.PostAsync(new ReconcileRequested(clock.ServiceNow(), new UeId(ue)));
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
        var ids = (await UePartitions.AllAsync(g)).Skip(Math.Max(0, offset ?? 0)).Take(Math.Clamp(limit ?? 100, 1, 1000));
        var snaps = await Task.WhenAll(ids.Select(id => g.GetGrain<IUeGrain>(id).Get()));
        return [.. snaps.Select(s => s.State).OfType<UeState>()];
    }

    private static async Task<List<(string Ue, UeSnapshot Snapshot)>> Snapshots(IGrainFactory g)
    {
        var ids = await UePartitions.AllAsync(g);
        var snaps = await Task.WhenAll(ids.Select(id => g.GetGrain<IUeGrain>(id).Get()));
        return [.. ids.Zip(snaps)];
    }

    private static async Task<List<UeState>> All(IGrainFactory g)
    {
        var snaps = await Task.WhenAll((await UePartitions.AllAsync(g)).Select(id => g.GetGrain<IUeGrain>(id).Get()));
        return [.. snaps.Select(s => s.State).OfType<UeState>()];
    }

    private static UeView View(UeState s) => View(s, null);

    private static UeView View(UeState s, QuarantineNote? quarantine) => new(
        s.Ue.Value, s.Imsi, s.UeAddress?.ToString(), s.Connection.ToString(), s.ServingEnb?.Value, s.Pvm.Value, s.PvmStatus.ToString(), s.PvmSite?.Value,
        s.PvmAddress?.ToString(), s.PinnedSite?.Value, MigrationOf(s), s.Steering is { } st ? SteeringOf(st) : null,
        s.PendingHandover is { } h ? $"{HandoverNames.Name(h.Kind, h.Source)} {h.Source} -> {h.Target}" : null, FaultOf(s), quarantine);

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
