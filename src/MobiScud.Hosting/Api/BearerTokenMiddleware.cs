using System.Security.Cryptography;
using System.Text;
using MobiScud.Hosting.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Api;

/// <summary>
/// Every API call carries "Authorization: Bearer &lt;MobiScud:Api:Token&gt;". Health probes and the Prometheus
/// scrape stay open so that orchestrators and scrapers need no secret, and so does the dashboard's sign-in page (its
/// static files hold no data; the page sends the token with every call). A refusal is a 401 with a JSON problem body.
/// </summary>
internal sealed class BearerTokenMiddleware(RequestDelegate next, IOptions<MobiScudOptions> options)
{
    private readonly byte[] _token = Encoding.UTF8.GetBytes(options.Value.Api.Token);

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics") || Dashboard.DashboardEndpoints.IsOpen(path))
        {
            await next(context);
            return;
        }

        string? problem = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            problem = "missing Authorization header: send 'Authorization: Bearer <token>' (the token is MobiScud:Api:Token)";
        }
        else if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            problem = "the Authorization header must use the Bearer scheme";
        }
        else if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), _token))
        {
            problem = "the bearer token is not valid";
        }

        if (problem is null)
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"mobiscud\"";
        await context.Response.WriteAsJsonAsync(
            new { type = "about:blank", title = "Unauthorized", status = 401, detail = problem },
            options: null,
            contentType: "application/problem+json");
    }
}
