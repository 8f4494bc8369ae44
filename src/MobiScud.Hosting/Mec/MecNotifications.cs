using System.Net;
using System.Text.Json.Nodes;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Mec;

/// <summary>One event a UE grain applied and persisted, with the MC state around it and the cell the UE was in before (E-UTRA or NR).</summary>
internal sealed record RanFact(UeEvent Event, UeState? Before, UeState? After, Ecgi? CellBefore, Ncgi? NrCellBefore = null);

/// <summary>Hears the events UE grains applied, once persisted (radio network information for MEC 012).</summary>
internal interface IRanObserver
{
    /// <summary>Must not block: called on the grain's turn.</summary>
    void Observe(IReadOnlyList<RanFact> facts);
}

/// <summary>
/// A piece of radio network news for MEC 012 subscribers: its subscription type, the status or event code the filters
/// select on, the cells and bearers it concerns and the notification body (without links).
/// </summary>
internal sealed record RanNews(string Type, long Status, Ecgi?[] Cells, IReadOnlyList<Bearer> Bearers, long? Qci, long? ERabId, IPAddress? Ue, JsonObject Body);

/// <summary>
/// The notification bodies of MEC 021 (MobilityProcedureNotification, AdjacentAppInfoNotification, ExpiryNotification,
/// TestNotification) and MEC 012 (CellChangeNotification, RabEstNotification, RabRelNotification, S1BearerNotification,
/// ExpiryNotification), with the enums as the specifications number them. Pure: built from the MC's notifications,
/// the tracker's events and the UE's state. A 5G UE's cell-change, RAB-establishment and RAB-release notifications
/// carry its NR cells in MEC 012's own NRcgi shape (<c>srcNrcgi</c>/<c>trgNrcgi</c>, <c>nrcgi</c>), with the required
/// Ecgi fields naming the PLMN and no E-UTRA cell (docs/hosting.md, "5G cells in MEC 012").
/// </summary>
internal static class MecNotifications
{
    /// <summary>MEC 021 mobilityStatus: 1 = INTERHOST_MOVEOUT_TRIGGERED, 2 = COMPLETED, 3 = FAILED (a cancelled migration failed to move out).</summary>
    public static int? MobilityStatus(NotificationKind kind) => kind switch
    {
        NotificationKind.MigrationStarted => 1,
        NotificationKind.MigrationCompleted => 2,
        NotificationKind.MigrationFailed or NotificationKind.MigrationCancelled => 3,
        _ => null,
    };

    /// <summary>MobilityProcedureNotification (without _links); null when the UE has no address to name it by (associateId needs one).</summary>
    public static JsonObject? Mobility(UeState state, Notify n, int status)
    {
        var ids = MecJson.AssociateIds(state.UeAddress);
        if (ids.Count == 0)
        {
            return null;
        }

        // A live migration keeps the application instance: the target is the same PVM, now answering at its new site.
        var target = new JsonObject { ["appInstanceId"] = state.Pvm.Value };
        if (status == 2 && state.PvmAddress is { } pvm)
        {
            target["commInterface"] = CommInterface(pvm);
        }

        return new JsonObject
        {
            ["notificationType"] = "MobilityProcedureNotification",
            ["timeStamp"] = MecJson.TimeStamp(n.At),
            ["associateId"] = ids,
            ["mobilityStatus"] = status,
            ["targetAppInfo"] = target,
        };
    }

    /// <summary>
    /// AdjacentAppInfoNotification (ETSI GS MEC 021 7.4.3, as AdvantEDGE's file defines it), sent when the UE's PVM
    /// runs at a new MEC host after a migration: the instance serving the UE and where it answers now.
    /// </summary>
    public static JsonObject? AdjacentAppInfo(UeState state, Notify n)
    {
        if (state.PvmAddress is not { } pvm)
        {
            return null;
        }

        return new JsonObject
        {
            ["notificationType"] = "AdjacentAppInfoNotification",
            ["timeStamp"] = MecJson.TimeStamp(n.At),
            ["associateId"] = MecJson.AssociateIds(state.UeAddress),
            ["adjacentAppInfo"] = new JsonArray(new JsonObject
            {
                ["appInstanceId"] = state.Pvm.Value,
                ["commInterface"] = new JsonArray(CommInterface(pvm)),
            }),
        };
    }

    /// <summary>A PVM is a whole VM: it answers on any port, which CommunicationInterface writes as port 0.</summary>
    internal static JsonObject CommInterface(IPAddress address) =>
        new() { ["ipAddresses"] = new JsonArray(new JsonObject { ["host"] = address.ToString(), ["port"] = 0 }) };

    public static JsonObject AmsExpiry(string subscriptionHref, TimeSpan deadline, TimeSpan now) => new()
    {
        ["notificationType"] = "ExpiryNotification",
        ["timeStamp"] = MecJson.TimeStamp(now),
        ["_links"] = new JsonObject { ["subscription"] = MecJson.Link(subscriptionHref) },
        ["expiryDeadline"] = MecJson.TimeStamp(deadline),
    };

    /// <summary>MEC 012's ExpiryNotification has no notificationType; its self link is a plain string.</summary>
    public static JsonObject RniExpiry(string subscriptionHref, TimeSpan deadline, TimeSpan now) => new()
    {
        ["_links"] = new JsonObject { ["self"] = subscriptionHref },
        ["expiryDeadline"] = MecJson.TimeStamp(deadline),
        ["timeStamp"] = MecJson.TimeStamp(now),
    };

    public static JsonObject Test(string subscriptionHref) => new()
    {
        ["notificationType"] = "TestNotification",
        ["_links"] = new JsonObject { ["subscription"] = MecJson.Link(subscriptionHref) },
    };

    /// <summary>The MEC 012 news in one applied event. Events without the cells the bodies need give none (counted by the caller).</summary>
    public static List<RanNews> News(RanFact fact, out int incomplete)
    {
        var missing = 0;
        var news = new List<RanNews>();
        var e = fact.Event;
        var state = fact.After ?? fact.Before;
        var ue = state?.UeAddress;
        var at = MecJson.TimeStamp(e.At);
        switch (e)
        {
            case HandoverPrepared p:
                CellChange(1, e.Cell, p.TargetCell, e.NrCell, p.NrTargetCell);
                break;
            case HandoverExecuting x:
                CellChange(2, e.Cell, x.TargetCell, e.NrCell, x.NrTargetCell);
                break;
            case HandoverCompleted c:
                CellChange(3, c.SourceCell ?? fact.CellBefore, e.Cell, c.NrSourceCell ?? fact.NrCellBefore, e.NrCell);
                Modified(c.Downlinks.Select(d => d.ERabId));
                break;
            case PathSwitched ps:
                CellChange(3, ps.SourceCell ?? fact.CellBefore, e.Cell, ps.NrSourceCell ?? fact.NrCellBefore, e.NrCell);
                Modified(ps.Downlinks.Select(d => d.ERabId));
                break;
            case HandoverCancelled h:
                // 4 = REJECTED: the MME refused the preparation; 5 = CANCELLED: the source eNB called it off.
                CellChange(h.Rejected ? 4 : 5, e.Cell, h.TargetCell, e.NrCell, h.NrTargetCell);
                break;
            case UeAttached a:
                Established(a.Bearers);
                break;
            case ServiceRequested s:
                Established(s.Bearers);
                break;
            case BearerAdded b:
                Established([b.Bearer]);
                break;
            case BearerModified m:
                Modified([m.Downlink.ERabId]);
                break;
            case BearerReleased r:
                Released(fact.Before?.Bearers.Where(b => b.ERabId == r.ERabId).ToList() ?? []);
                break;
            case UeReleasedToIdle or Detached:
                Released(fact.Before?.Bearers.ToList() ?? []);
                break;
        }

        incomplete = missing;
        return news;

        void CellChange(int status, Ecgi? source, Ecgi? target, Ncgi? nrSource, Ncgi? nrTarget)
        {
            if (source is not null && target is not null)
            {
                news.Add(new RanNews(MecType.CellChange, status, [source, target], state?.Bearers.ToList() ?? [], null, null, ue, new JsonObject
                {
                    ["notificationType"] = "CellChangeNotification",
                    ["associateId"] = MecJson.AssociateIds(ue),
                    ["hoStatus"] = status,
                    ["srcEcgi"] = MecJson.Ecgi(source),
                    ["timeStamp"] = at.DeepClone(),
                    ["trgEcgi"] = new JsonArray(MecJson.Ecgi(target)),
                }));
                return;
            }

            if (source is null && target is null && nrSource is not null && nrTarget is not null)
            {
                // 5G: the NR cells in NRcgi fields beside the Ecgi ones the schema requires, which name no E-UTRA cell.
                news.Add(new RanNews(MecType.CellChange, status, [], state?.Bearers.ToList() ?? [], null, null, ue, new JsonObject
                {
                    ["notificationType"] = "CellChangeNotification",
                    ["associateId"] = MecJson.AssociateIds(ue),
                    ["hoStatus"] = status,
                    ["srcEcgi"] = MecJson.NoEutraCell(nrSource),
                    ["srcNrcgi"] = MecJson.Nrcgi(nrSource),
                    ["timeStamp"] = at.DeepClone(),
                    ["trgEcgi"] = new JsonArray(MecJson.NoEutraCell(nrTarget)),
                    ["trgNrcgi"] = new JsonArray(MecJson.Nrcgi(nrTarget)),
                }));
                return;
            }

            missing++;
        }

        void Established(IReadOnlyList<Bearer> bearers) => Rab(MecType.RabEst, bearers, e.Cell, e.Cell is null ? e.NrCell : null);

        void Released(IReadOnlyList<Bearer> bearers)
        {
            var cell = e.Cell ?? fact.CellBefore;
            Rab(MecType.RabRel, bearers, cell, cell is null ? e.NrCell ?? fact.NrCellBefore : null);
        }

        // RabEstNotification or RabRelNotification per bearer, then E-UTRA's S1BearerNotification for them all.
        void Rab(string type, IReadOnlyList<Bearer> bearers, Ecgi? cell, Ncgi? nr)
        {
            if (bearers.Count == 0)
            {
                return;
            }

            if (cell is null && nr is null)
            {
                missing++;
                return;
            }

            var established = type == MecType.RabEst;
            foreach (var b in bearers)
            {
                var body = new JsonObject
                {
                    ["notificationType"] = established ? "RabEstNotification" : "RabRelNotification",
                    ["associateId"] = MecJson.AssociateIds(ue),
                    ["ecgi"] = cell is not null ? MecJson.Ecgi(cell) : MecJson.NoEutraCell(nr!),
                };
                if (established)
                {
                    body["erabId"] = b.ERabId;
                }
                else
                {
                    body["erabReleaseInfo"] = new JsonObject { ["erabId"] = b.ERabId };
                }

                body["timeStamp"] = at.DeepClone();
                if (nr is not null)
                {
                    // 5G: the bearer is a PDU session (erabId = its PDU session id) in this NR cell.
                    body["nrcgi"] = MecJson.Nrcgi(nr);
                }

                if (established && b.Qci is { } qci)
                {
                    body["erabQosParameters"] = new JsonObject { ["qci"] = qci };
                }

                news.Add(new RanNews(type, 0, [cell], [b], b.Qci, b.ERabId, ue, body));
            }

            // 5G has no S1 bearers (its tunnels are N3): S1BearerNotification stays E-UTRA's.
            if (cell is not null)
            {
                news.Add(S1(established ? 1 : 3, cell, bearers));
            }
        }

        void Modified(IEnumerable<byte> ids)
        {
            var set = ids.ToHashSet();
            var bearers = fact.After?.Bearers.Where(b => set.Contains(b.ERabId)).ToList() ?? [];
            if (bearers.Count == 0 || (e.Cell is null && e.NrCell is not null))
            {
                // Nothing modified, or a 5G UE: no S1 bearers to report.
                return;
            }

            if (e.Cell is not { } cell)
            {
                missing++;
                return;
            }

            news.Add(S1(2, cell, bearers));
        }

        RanNews S1(int s1Event, Ecgi cell, IReadOnlyList<Bearer> bearers)
        {
            var info = new JsonObject
            {
                ["associateId"] = MecJson.AssociateIds(ue),
                ["ecgi"] = new JsonArray(MecJson.Ecgi(cell)),
                ["s1BearerInfo"] = new JsonArray([.. bearers.Select(S1Bearer)]),
            };
            return new RanNews(MecType.S1Bearer, s1Event, [cell], bearers, null, null, ue, new JsonObject
            {
                ["notificationType"] = "S1BearerNotification",
                ["s1Event"] = s1Event,
                ["s1UeInfo"] = info,
                ["timeStamp"] = at.DeepClone(),
            });
        }
    }

    /// <summary>S1BearerInfo: the eNB's and the S-GW's ends of the bearer's S1-U tunnel.</summary>
    public static JsonObject S1Bearer(Bearer b) => new()
    {
        ["enbInfo"] = new JsonObject { ["ipAddress"] = b.Downlink.Address.ToString(), ["tunnelId"] = MecJson.Teid(b.Downlink.Teid) },
        ["erabId"] = b.ERabId,
        ["sGwInfo"] = new JsonObject { ["ipAddress"] = b.Uplink.Address.ToString(), ["tunnelId"] = MecJson.Teid(b.Uplink.Teid) },
    };

    /// <summary>Whether a subscription's filter selects this news.</summary>
    public static bool Selects(MecFilter f, RanNews n) => n.Type switch
    {
        MecType.CellChange => f.Statuses.Contains(n.Status) && f.MatchesUe(n.Ue, n.Bearers) && f.MatchesCell(n.Cells),
        MecType.RabEst => n.Qci == f.Qci && f.MatchesCell(n.Cells),
        MecType.RabRel => n.Qci == f.Qci && n.ERabId == f.ERabId && f.MatchesCell(n.Cells),
        MecType.S1Bearer => f.Statuses.Contains(n.Status) && f.MatchesUe(n.Ue, n.Bearers) && f.MatchesCell(n.Cells)
            && (f.ERabIds.Count == 0 || n.Bearers.Any(b => f.ERabIds.Contains(b.ERabId))),
        _ => false,
    };
}
