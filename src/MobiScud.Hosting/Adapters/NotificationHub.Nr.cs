using System.Text.Json.Nodes;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Adapters;

public sealed partial class NotificationHub
{
    /// <summary>
    /// A gNB end of a cell change (a node listed under a site's Gnbs) is named by NR CGI where an eNB has its ECGI:
    /// `srcNrcgi` / `trgNrcgi` in place of `srcEcgi` / `trgEcgi`, with the gNB id as the eNB's id is (MEC 012's
    /// CellChangeNotification defines ECGIs only; its NRcgi type is used elsewhere in the API).
    /// </summary>
    private static void NrCells(JsonObject body, EnbId? source, EnbId? target, HashSet<EnbId> nrNodes)
    {
        if (source is { } s && nrNodes.Contains(s))
        {
            body.Remove("srcEcgi");
            body["srcNrcgi"] = new JsonObject { ["gnbId"] = s.Value };
        }

        if (target is { } t && nrNodes.Contains(t))
        {
            body.Remove("trgEcgi");
            body["trgNrcgi"] = new JsonArray(new JsonObject { ["gnbId"] = t.Value });
        }
    }
}
