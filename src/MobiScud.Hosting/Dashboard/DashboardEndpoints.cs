using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MobiScud.Hosting.Dashboard;

/// <summary>
/// The dashboard over HTTP, one implementation for every host (serve, a live simulation, the testbed): the page and
/// its scripts at `/` and `/dashboard/*` (open: they hold no data), and behind the bearer token the topology, a UE's
/// ladder, the chart history and the Server-Sent Events stream of frames.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>How often the stream sends a frame when something changed.</summary>
    public static readonly TimeSpan FrameInterval = TimeSpan.FromMilliseconds(250);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly Dictionary<string, string> _types = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    };

    /// <summary>Paths the bearer-token check lets through: the sign-in page and its static files.</summary>
    public static bool IsOpen(PathString path) => path == "/" || path == "/index.html" || path.StartsWithSegments("/dashboard");

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Asset("index.html")).ExcludeFromDescription();
        app.MapGet("/dashboard/{file}", (string file) => Asset(file)).ExcludeFromDescription();
        var api = app.MapGroup("/api/v1/dashboard").WithTags("dashboard");
        api.MapGet("/topology", (DashboardState s) => Results.Json(s.Topology(out _), Json)).WithSummary("The dashboard's map: eNBs, sites, coordinates");
        api.MapGet("/series", (DashboardState s) => Results.Json(s.Series(), Json)).WithSummary("The chart history");
        api.MapGet("/ues/{ue}", (DashboardState s, string ue) => s.Detail(ue) is { } d
            ? Results.Json(d, Json)
            : Results.Problem($"UE '{Api.ApiEndpoints.Clip(ue)}' is not known to the dashboard", statusCode: 404, title: "Not found"))
            .WithSummary("A UE's ladder: its signalling and the MC's commands");
        api.MapGet("/stream", Stream).WithSummary("Server-Sent Events: a `topology` event when the map changes, a `frame` event when anything changes");
    }

    private static async Task Stream(HttpContext context, DashboardState state, TimeProvider time)
    {
        var ct = context.RequestAborted;
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        long feedSeen = 0, sent = -1;
        var topologySent = -1;
        using var timer = new PeriodicTimer(FrameInterval, time);
        try
        {
            do
            {
                if (state.Version == sent)
                {
                    continue;
                }

                var frame = state.Frame(feedSeen);
                if (frame.TopologyVersion != topologySent)
                {
                    var topology = state.Topology(out topologySent);
                    await Write(context, "topology", JsonSerializer.Serialize(topology, Json), ct);
                }

                await Write(context, "frame", JsonSerializer.Serialize(frame, Json), ct);
                sent = frame.Version;
                feedSeen = frame.Feed.Count > 0 ? frame.Feed[^1].Seq : feedSeen;
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page went away.
        }
    }

    private static async Task Write(HttpContext context, string kind, string data, CancellationToken ct)
    {
        await context.Response.WriteAsync($"event: {kind}\ndata: {data}\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static IResult Asset(string file)
    {
        var ext = Path.GetExtension(file);
        if (!_types.TryGetValue(ext, out var type) || file.Contains('/') || file.Contains('\\'))
        {
            return Results.Problem($"'{Api.ApiEndpoints.Clip(file)}' is not a dashboard file", statusCode: 404, title: "Not found");
        }

        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + file);
        return stream is null
            ? Results.Problem($"'{Api.ApiEndpoints.Clip(file)}' is not a dashboard file", statusCode: 404, title: "Not found")
            : Results.Stream(stream, type);
    }

    /// <summary>
    /// A ticker that closes a chart interval every <paramref name="every"/> (serve; a simulation samples at its own ticks).
    /// </summary>
    internal static async Task SampleAsync(DashboardState state, TimeProvider time, TimeSpan every, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                state.Sample();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
