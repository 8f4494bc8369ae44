using System.Text.Json.Nodes;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Grains;
using Microsoft.AspNetCore.Http;

namespace MobiScud.Hosting.Mec;

/// <summary>
/// The query resources built from what the MC knows of every UE (its grain's state and last cell): MEC 012
/// /queries/plmn_info and MEC 021 /queries/adjacent_app_instances.
/// </summary>
internal static class MecQueries
{
    /// <summary>The one application descriptor every PVM is instantiated from: the MC creates all PVMs alike.</summary>
    public const string PvmDescriptor = "mobiscud-pvm";

    private static async Task<UeSnapshot[]> All(IGrainFactory g) =>
        await Task.WhenAll((await UePartitions.AllAsync(g)).Select(id => g.GetGrain<IUeGrain>(id).Get()));

    /// <summary>
    /// GET /rni/v2/queries/plmn_info: one PlmnInfo per asked application instance with the PLMNs of the cells (ECGI or
    /// NCGI) the signalling named for the UEs the MC knows (every application on this MEC system sees the same RAN). No PLMN seen
    /// yet: an empty array (a PlmnInfo needs at least one).
    /// </summary>
    public static async Task<IResult> PlmnInfo(IGrainFactory g, TimeProvider clock, HttpRequest request)
    {
        var apps = MecEndpoints.List(request, "app_ins_id");
        if (apps.Count == 0)
        {
            return MecJson.Problem(400, "Bad Request", "app_ins_id is required: the application instance(s) asking");
        }

        // E-UTRA cells of LTE UEs and NR cells (NCGI) of 5G UEs: PlmnInfo names PLMNs, whatever the radio.
        var snaps = await All(g);
        var plmns = snaps.Select(s => s.Cell).OfType<Ecgi>().Select(c => (c.Mcc, c.Mnc))
            .Concat(snaps.Select(s => s.NrCell).OfType<Ncgi>().Select(c => (c.Mcc, c.Mnc))).Distinct().Order().ToList();
        var answer = new JsonArray();
        if (plmns.Count > 0)
        {
            foreach (var app in apps.Distinct())
            {
                answer.Add(new JsonObject
                {
                    ["appInstanceId"] = app,
                    ["plmn"] = new JsonArray([.. plmns.Select(p => new JsonObject { ["mcc"] = p.Mcc, ["mnc"] = p.Mnc })]),
                    ["timeStamp"] = MecJson.TimeStamp(clock.ServiceNow()),
                });
            }
        }

        return Results.Json(answer);
    }

    /// <summary>
    /// GET /rni/v2/queries/layer2_meas: L2Meas with empty cellInfo and cellUEInfo (the specification allows 0 items).
    /// Layer 2 measurements (PRB usage, preambles, delay, loss, throughput, volume) stay in the eNB's MAC and PDCP and
    /// its reports to OAM: no S1AP or GTP message carries them, so the MC knows none. The parameters are still checked.
    /// </summary>
    public static IResult Layer2Meas(TimeProvider clock, HttpRequest request)
    {
        if (MecEndpoints.Query(request, out var problem) is null)
        {
            return MecJson.Problem(400, "Bad Request", problem!);
        }

        foreach (var (name, values) in request.Query)
        {
            if (name.EndsWith("_cell", StringComparison.Ordinal) || name.EndsWith("_ue", StringComparison.Ordinal))
            {
                if (values.Any(v => !int.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _)))
                {
                    return MecJson.Problem(400, "Bad Request", $"{MecJson.Clip(name)} must be an integer (was '{MecJson.Clip(values.ToString())}')");
                }
            }
        }

        return Results.Json(new JsonObject { ["cellInfo"] = new JsonArray(), ["cellUEInfo"] = new JsonArray(), ["timeStamp"] = MecJson.TimeStamp(clock.ServiceNow()) });
    }

    /// <summary>
    /// GET /amsi/v1/queries/adjacent_app_instances: the PVMs that run (each at its site, the MEC host), as
    /// AdjacentAppInstanceInfo, with MEC 009 attribute-based filtering (`filter`). registeredInstanceId is the application
    /// instance that registered the PVM's UE in /app_mobility_services, when one did.
    /// </summary>
    public static async Task<IResult> AdjacentAppInstances(IGrainFactory g, HttpRequest request)
    {
        foreach (var unsupported in new[] { "fields", "exclude_fields" })
        {
            if (request.Query.ContainsKey(unsupported))
            {
                // all_fields and exclude_default change nothing: AdjacentAppInstanceInfo excludes no attribute by default.
                return MecJson.Problem(400, "Bad Request", $"{unsupported} is not supported (all_fields and exclude_default are)");
            }
        }

        MecAttributeFilter? filter = null;
        if (request.Query["filter"].ToString() is { Length: > 0 } text && (filter = MecAttributeFilter.Parse(text, _adjacentAttributes, out var problem)) is null)
        {
            return MecJson.Problem(400, "Bad Request", $"filter: {problem}");
        }

        var registrations = await g.GetGrain<IControlGrain>(GrainNames.Control).Registrations();
        var answer = new JsonArray();
        foreach (var s in (await All(g)).Select(s => s.State).OfType<UeState>().OrderBy(s => s.Pvm.Value, StringComparer.Ordinal))
        {
            if (AdjacentAppInstance(s, registrations) is { } info && (filter is null || filter.Matches(info)))
            {
                answer.Add(info);
            }
        }

        return Results.Json(answer);
    }

    /// <summary>The attributes of AdjacentAppInstanceInfo (and the types it refers to) a filter may name.</summary>
    private static readonly string[] _adjacentAttributes =
    [
        "appInstanceId", "appDId", "registeredInstanceId", "appInstanceCommLink/ipAddresses/host", "appInstanceCommLink/ipAddresses/port",
        "mecHostInformation/hostName", "mecHostInformation/hostId/site",
    ];

    /// <summary>A PVM that answers at its site; null while none does (no address: AdjacentAppInstanceInfo needs a link).</summary>
    public static JsonObject? AdjacentAppInstance(UeState s, IEnumerable<MecRegistration> registrations)
    {
        if (s.PvmStatus != PvmStatus.Running || s.PvmSite is not { } site || s.PvmAddress is not { } address)
        {
            return null;
        }

        var info = new JsonObject
        {
            ["appInstanceId"] = s.Pvm.Value,
            ["appDId"] = PvmDescriptor,
            ["appInstanceCommLink"] = new JsonArray(MecNotifications.CommInterface(address)),
            // hostId is deployment-specific (an object in the specification): here the site's name.
            ["mecHostInformation"] = new JsonObject { ["hostName"] = site.Value, ["hostId"] = new JsonObject { ["site"] = site.Value } },
        };
        if (MecRegistrations.Registrant(registrations, s.UeAddress) is { } registered)
        {
            info["registeredInstanceId"] = registered;
        }

        return info;
    }
}
