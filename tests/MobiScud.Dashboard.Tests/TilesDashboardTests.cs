using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using MobiScud.Cli;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Dashboard;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Dashboard.Tests;

/// <summary>Map tiles under a geographic map, from a tile server on loopback that the test runs; none by default.</summary>
public sealed class TilesDashboardTests(Browser browser) : IClassFixture<Browser>
{
    private const string Token = "tiles-dashboard-token-0123456789";

    /// <summary>The tiles' colour, which nothing else on the map uses.</summary>
    private static readonly byte[] _tileColour = [0x12, 0xb4, 0x9a];

    [Fact]
    public async Task Tiles_are_requested_for_the_shown_area_and_drawn_under_a_geographic_map()
    {
        await using var tiles = await TileServer.StartAsync();
        var state = GeoState();
        state.Tiles = tiles.Template;
        await using var app = DashboardHost.Build(state, Token, IPAddress.Loopback, 0);
        await app.StartAsync();
        var (page, errors) = await browser.PageAsync();
        await page.GotoAsync(DashboardHost.Address(app) + "#token=" + Token);
        // Every tile in view loaded and drawn: the browser sends a few requests at a time, so after the first tile
        // drawn the others may not have reached the tile server yet.
        // UEs come with the first frame, which may arrive after the tiles: wait for it too, then for the draw it asked
        // for (requested before our two animation frames, so run by the time they end).
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.tiles) >= 1 && document.body.dataset.tiles === document.body.dataset.tilesInView && Number(document.body.dataset.frames) >= 1");
        await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");

        // The requests: one zoom, and the tiles (by the slippy-map formula, not the page's) of every eNB and site are among them.
        var requested = tiles.Requests.ToList();
        var zoom = Assert.Single(requested.Select(r => r.Z).Distinct());
        Assert.InRange(zoom, 10, 16); // a city of ~10 km on a ~1000 px canvas
        var topology = state.Topology(out _);
        foreach (var (lon, lat) in topology.Enbs.Select(e => (e.X, e.Y)).Concat(topology.Sites.Select(s => (s.X, s.Y))))
        {
            Assert.Contains(Slippy(lon, lat, zoom), requested);
        }

        // Drawn: the tile colour fills most of the canvas (under the eNBs, sites and UEs, which are still drawn on top).
        var share = await page.EvaluateAsync<double>($$"""
            () => {
              const c = document.querySelector('#map');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 0; i < d.length; i += 4) if (d[i] === {{_tileColour[0]}} && d[i + 1] === {{_tileColour[1]}} && d[i + 2] === {{_tileColour[2]}}) n++;
              return n / (d.length / 4);
            }
            """);
        Assert.True(share > 0.5, $"tile colour on {share:P0} of the canvas");
        Assert.True(await page.EvaluateAsync<int>(UeColourPixels) > 0, "the UEs are drawn over the tiles");
        await Browser.ScreenshotsAsync(page, "tiles");
        await page.CloseAsync();
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Without_a_template_or_without_geographic_coordinates_no_tile_is_requested()
    {
        await using var tiles = await TileServer.StartAsync();
        var offline = GeoState();
        var laidOut = GeoState(geo: false);
        laidOut.Tiles = tiles.Template;
        foreach (var state in new[] { offline, laidOut })
        {
            await using var app = DashboardHost.Build(state, Token, IPAddress.Loopback, 0);
            await app.StartAsync();
            var (page, errors) = await browser.PageAsync();
            await page.GotoAsync(DashboardHost.Address(app) + "#token=" + Token);
            await page.WaitForFunctionAsync("() => Number(document.body.dataset.frames) >= 1");
            Assert.True(await page.EvaluateAsync<int>(UeColourPixels) > 0, "the map is drawn");
            Assert.Null(await page.EvaluateAsync<string?>("() => document.body.dataset.tiles ?? null"));
            await page.CloseAsync();
            Assert.Empty(errors);
        }

        Assert.Empty(tiles.Requests);
    }

    [Fact]
    public void A_tile_template_is_checked_where_it_is_given()
    {
        Assert.Null(DashboardTiles.Problem("https://tile.example/{z}/{x}/{y}.png"));
        Assert.Contains("lacks {y}", DashboardTiles.Problem("https://tile.example/{z}/{x}.png"), StringComparison.Ordinal);
        Assert.Contains("not an absolute http(s) URL", DashboardTiles.Problem("file:///{z}/{x}/{y}.png"), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new DashboardState(() => 0).Tiles = "tiles/{z}/{x}/{y}");

        // serve: the keys are known to the strict configuration check, and the validator names what is wrong.
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MobiScud:Dashboard:Tiles"] = "https://tile.example/{z}/{x}.png",
            ["MobiScud:Sites:0:Name"] = "a",
            ["MobiScud:Sites:0:Latitude"] = "37.7",
            ["MobiScud:Sites:0:Longitude"] = "-122.4",
            ["MobiScud:Sites:1:Name"] = "b",
            ["MobiScud:Sites:1:Latitude"] = "37.8",
        }).Build();
        Assert.Empty(StrictConfiguration.Check(config.GetSection(MobiScudOptions.Section), typeof(MobiScudOptions)));
        var options = config.GetSection(MobiScudOptions.Section).Get<MobiScudOptions>()!;
        options.Api.Token = Token;
        var failures = new MobiScudOptionsValidator().Validate(null, options).Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("MobiScud:Dashboard:Tiles:", StringComparison.Ordinal) && f.Contains("lacks {y}", StringComparison.Ordinal));
        Assert.Contains(failures, f => f == "MobiScud:Sites:1: Latitude and Longitude go together");
        Assert.Contains(failures, f => f.StartsWith("MobiScud:Sites: 1 of 2 sites", StringComparison.Ordinal));

        // With coordinates for every site, serve's map is geographic around them.
        options.Sites[1].Longitude = -122.5;
        options.Sites[0].Enbs = [1, 2];
        var layout = ServeDashboard.Layout(options);
        Assert.True(layout.Geo);
        Assert.Equal((-122.4, 37.7), (layout.Sites.Single(s => s.Name == "a").X, layout.Sites.Single(s => s.Name == "a").Y));
        Assert.All(layout.Enbs, e => Assert.Equal(300, Math.Sqrt(Math.Pow((e.Y - 37.7) * 111_320, 2) + Math.Pow((e.X + 122.4) * 111_320 * Math.Cos(37.7 * Math.PI / 180), 2)), 6));
    }

    [Fact]
    public void A_live_run_of_towers_given_by_latitude_and_longitude_puts_them_on_the_map_in_degrees()
    {
        var dir = Directory.CreateTempSubdirectory("msd-towers-");
        try
        {
            var towers = new[] { (1, 37.7749, -122.4194), (2, 37.8044, -122.2712), (3, 37.6879, -122.4702), (4, 37.7599, -122.4148) };
            var csv = Path.Combine(dir.FullName, "towers.csv");
            File.WriteAllLines(csv, ["id,lat,lon", .. towers.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Item1},{t.Item2},{t.Item3}"))]);
            var scenario = new ScenarioConfig { Name = "towers", Duration = TimeSpan.FromMinutes(1) };
            scenario.Topology.TowersCsv = csv;
            scenario.Topology.Sites = 2;
            var observer = new LiveRun.LiveObserver(TimeProvider.System, 1, CancellationToken.None);
            var state = new DashboardState(() => 0);
            observer.State = state;
            observer.Attach(new Simulator(scenario) { Observer = observer });
            var topology = state.Topology(out _);
            Assert.True(topology.Geo);
            foreach (var (id, lat, lon) in towers)
            {
                var enb = topology.Enbs.Single(e => e.Id == id.ToString(CultureInfo.InvariantCulture));
                Assert.Equal(lon, enb.X, 9);
                Assert.Equal(lat, enb.Y, 9);
            }

            // The same scenario laid out in metres stays as it was.
            File.WriteAllLines(csv, ["id,x,y", "1,0,0", "2,1000,0", "3,0,1000", "4,1000,1000"]);
            observer.Attach(new Simulator(scenario) { Observer = observer });
            Assert.False(state.Topology(out _).Geo);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private const string UeColourPixels = """
        () => {
          const c = document.querySelector('#map');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] === 0xe8 && d[i + 1] === 0x59 && d[i + 2] === 0x0c) n++;
          return n;
        }
        """;

    /// <summary>A San Francisco-sized map in degrees (or the same numbers taken as metres): 20 eNBs, 3 sites, 40 UEs.</summary>
    private static DashboardState GeoState(bool geo = true)
    {
        var state = new DashboardState(() => 0);
        var sites = new[] { new DashboardSite("edge-0", -122.45, 37.76, 10, false), new DashboardSite("edge-1", -122.41, 37.78, 10, false), new DashboardSite("core", -122.43, 37.74, 0, true) };
        var enbs = Enumerable.Range(0, 20).Select(i => new DashboardEnb($"{100 + i}", -122.48 + (i % 5 * 0.02), 37.72 + (i / 5 * 0.02), $"edge-{i % 2}")).ToList();
        state.SetTopology(new DashboardTopology("tiles", geo, enbs, sites, false));
        for (var u = 0; u < 40; u++)
        {
            state.UpdateUe($"ue-{u}", enbs[u % 20].Id, $"edge-{u % 2}", true);
        }

        return state;
    }

    /// <summary>The tile of a point at a zoom: OpenStreetMap's slippy-map formula.</summary>
    private static (int Z, int X, int Y) Slippy(double lon, double lat, int z)
    {
        var n = 1 << z;
        var r = lat * Math.PI / 180;
        return (z, (int)Math.Floor((lon + 180) / 360 * n), (int)Math.Floor((1 - (Math.Log(Math.Tan(r) + (1 / Math.Cos(r))) / Math.PI)) / 2 * n));
    }

    /// <summary>A tile server on loopback: every /{z}/{x}/{y}.png is a 256 x 256 PNG of <see cref="_tileColour"/>, with CORS allowed.</summary>
    private sealed class TileServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private TileServer(WebApplication app) => _app = app;

        public ConcurrentBag<(int Z, int X, int Y)> Requests { get; } = [];

        public string Template => DashboardHost.Address(_app) + "{z}/{x}/{y}.png";

        public static async Task<TileServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var server = new TileServer(app);
            var png = SolidPng(256, 256, _tileColour);
            app.MapGet("/{z:int}/{x:int}/{y:int}.png", (int z, int x, int y, HttpContext context) =>
            {
                server.Requests.Add((z, x, y));
                context.Response.Headers.AccessControlAllowOrigin = "*";
                return Results.Bytes(png, "image/png");
            });
            await app.StartAsync();
            return server;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();

        /// <summary>A PNG (RFC 2083) of one colour: IHDR, one zlib IDAT of filter-0 rows, IEND.</summary>
        private static byte[] SolidPng(int width, int height, byte[] rgb)
        {
            using var raw = new MemoryStream();
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            {
                var row = new byte[1 + (3 * width)];
                for (var i = 0; i < width; i++)
                {
                    rgb.CopyTo(row, 1 + (3 * i));
                }

                for (var y = 0; y < height; y++)
                {
                    z.Write(row);
                }
            }

            using var png = new MemoryStream();
            png.Write([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
            var header = new byte[13];
            BinaryPrimitives.WriteInt32BigEndian(header, width);
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
            header[8] = 8; // bit depth
            header[9] = 2; // truecolour
            Chunk(png, "IHDR", header);
            Chunk(png, "IDAT", raw.ToArray());
            Chunk(png, "IEND", []);
            return png.ToArray();
        }

        private static void Chunk(Stream s, string type, byte[] data)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
            System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
            s.Write(head);
            s.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32([.. head.AsSpan(4).ToArray(), .. data]));
            s.Write(crc);
        }

        private static uint Crc32(byte[] bytes)
        {
            var c = 0xffffffffu;
            foreach (var b in bytes)
            {
                c ^= b;
                for (var k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
                }
            }

            return ~c;
        }
    }
}
