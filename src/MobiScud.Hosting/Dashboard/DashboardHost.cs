using System.Net;
using MobiScud.Hosting.Api;
using MobiScud.Hosting.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Dashboard;

/// <summary>
/// The dashboard alone on a small Kestrel host, for hosts without serve (a live simulation, the testbed): the same
/// endpoints and the same bearer-token middleware as serve, over a <see cref="DashboardState"/> the caller feeds.
/// </summary>
public static class DashboardHost
{
    public static WebApplication Build(DashboardState state, string token, IPAddress address, int port, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new ArgumentException("the dashboard needs a bearer token (--token)", nameof(token));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(address, port));
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton<IOptions<MobiScudOptions>>(Options.Create(new MobiScudOptions { Api = new ApiOptions { Token = token } }));
        var app = builder.Build();
        app.UseMiddleware<BearerTokenMiddleware>();
        DashboardEndpoints.Map(app);
        return app;
    }

    /// <summary>The address Kestrel listens on (port 0 picks a free one).</summary>
    public static Uri Address(WebApplication app) => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}
