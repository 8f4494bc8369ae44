namespace MobiScud.Hosting.Config;

/// <summary>`MobiScud:Dashboard`: the live page at `/` (docs/hosting.md, Dashboard).</summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// A tile URL template ({z}/{x}/{y}, Web Mercator) drawn under the map when the sites have coordinates
    /// (<see cref="SiteOptions.Latitude"/>/<see cref="SiteOptions.Longitude"/>); unset: the map is drawn offline.
    /// </summary>
    public string? Tiles { get; set; }

    public IEnumerable<string> Validate(string p, IReadOnlyList<SiteOptions> sites)
    {
        if (!string.IsNullOrWhiteSpace(Tiles) && Dashboard.DashboardTiles.Problem(Tiles) is { } problem)
        {
            yield return $"{p}:Tiles: {problem}";
        }

        var placed = 0;
        for (var i = 0; i < sites.Count; i++)
        {
            var s = sites[i];
            if (s.Latitude is null != s.Longitude is null)
            {
                yield return $"{p.Replace(":Dashboard", "", StringComparison.Ordinal)}:Sites:{i}: Latitude and Longitude go together";
            }

            if (s.Latitude is { } lat && (lat < -85 || lat > 85 || double.IsNaN(lat)))
            {
                yield return $"{p.Replace(":Dashboard", "", StringComparison.Ordinal)}:Sites:{i}:Latitude {lat} is outside -85..85";
            }

            if (s.Longitude is { } lon && (lon < -180 || lon > 180 || double.IsNaN(lon)))
            {
                yield return $"{p.Replace(":Dashboard", "", StringComparison.Ordinal)}:Sites:{i}:Longitude {lon} is outside -180..180";
            }

            placed += s.Latitude is not null && s.Longitude is not null ? 1 : 0;
        }

        if (placed > 0 && placed < sites.Count)
        {
            yield return $"{p.Replace(":Dashboard", "", StringComparison.Ordinal)}:Sites: {placed} of {sites.Count} sites have Latitude/Longitude; give every site coordinates or none (the map is geographic or laid out)";
        }
    }
}
