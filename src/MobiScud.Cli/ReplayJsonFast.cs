using System.Globalization;
using System.Net;
using System.Text.Json;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Cli;

/// <summary>
/// The events and commands a replay writes most, written property by property with no serializer: the same bytes as
/// <see cref="ReplayJson.Options"/> gives (type first, then the type's own properties, then its base's, summary last;
/// nulls written; enums, ids and addresses as strings), without the serializer's per-type metadata, which a
/// short-lived `replay --json` paid for mostly in JIT time. Any other type goes through the serializer.
/// </summary>
/// <remarks>ReplayJsonFastTests compares both writers on every type here and on every capture in data/captures.</remarks>
internal static class ReplayJsonFast
{
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Summary = JsonEncodedText.Encode("summary");
    private static readonly JsonEncodedText Ue = JsonEncodedText.Encode("ue");
    private static readonly JsonEncodedText Cell = JsonEncodedText.Encode("cell");
    private static readonly JsonEncodedText At = JsonEncodedText.Encode("at");
    private static readonly JsonEncodedText Imsi = JsonEncodedText.Encode("imsi");
    private static readonly JsonEncodedText UeAddress = JsonEncodedText.Encode("ueAddress");
    private static readonly JsonEncodedText Enb = JsonEncodedText.Encode("enb");
    private static readonly JsonEncodedText CellId = JsonEncodedText.Encode("cellId");
    private static readonly JsonEncodedText Bearers = JsonEncodedText.Encode("bearers");
    private static readonly JsonEncodedText BearerName = JsonEncodedText.Encode("bearer");
    private static readonly JsonEncodedText ERabId = JsonEncodedText.Encode("eRabId");
    private static readonly JsonEncodedText Uplink = JsonEncodedText.Encode("uplink");
    private static readonly JsonEncodedText Downlink = JsonEncodedText.Encode("downlink");
    private static readonly JsonEncodedText Downlinks = JsonEncodedText.Encode("downlinks");
    private static readonly JsonEncodedText Address = JsonEncodedText.Encode("address");
    private static readonly JsonEncodedText Teid = JsonEncodedText.Encode("teid");
    private static readonly JsonEncodedText Qci = JsonEncodedText.Encode("qci");
    private static readonly JsonEncodedText Mcc = JsonEncodedText.Encode("mcc");
    private static readonly JsonEncodedText Mnc = JsonEncodedText.Encode("mnc");
    private static readonly JsonEncodedText NrCell = JsonEncodedText.Encode("nrCell");
    private static readonly JsonEncodedText NrCellId = JsonEncodedText.Encode("nrCellId");
    private static readonly JsonEncodedText NrTargetCell = JsonEncodedText.Encode("nrTargetCell");
    private static readonly JsonEncodedText NrSourceCell = JsonEncodedText.Encode("nrSourceCell");
    private static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText Target = JsonEncodedText.Encode("target");
    private static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText TargetCell = JsonEncodedText.Encode("targetCell");
    private static readonly JsonEncodedText SourceCell = JsonEncodedText.Encode("sourceCell");
    private static readonly JsonEncodedText Rejected = JsonEncodedText.Encode("rejected");
    private static readonly JsonEncodedText Was = JsonEncodedText.Encode("was");
    private static readonly JsonEncodedText Now = JsonEncodedText.Encode("now");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText Pvm = JsonEncodedText.Encode("pvm");
    private static readonly JsonEncodedText Site = JsonEncodedText.Encode("site");
    private static readonly JsonEncodedText Detail = JsonEncodedText.Encode("detail");
    private static readonly JsonEncodedText Intent = JsonEncodedText.Encode("intent");
    private static readonly JsonEncodedText SwitchSite = JsonEncodedText.Encode("switchSite");
    private static readonly JsonEncodedText PvmSite = JsonEncodedText.Encode("pvmSite");
    private static readonly JsonEncodedText PvmAddress = JsonEncodedText.Encode("pvmAddress");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText Due = JsonEncodedText.Encode("due");
    private static readonly JsonEncodedText Token = JsonEncodedText.Encode("token");
    private static readonly JsonEncodedText Migration = JsonEncodedText.Encode("migration");
    private static readonly JsonEncodedText From = JsonEncodedText.Encode("from");
    private static readonly JsonEncodedText To = JsonEncodedText.Encode("to");
    private static readonly JsonEncodedText ExpectedBenefit = JsonEncodedText.Encode("expectedBenefit");

    /// <summary>Writes an event or command this class knows; false (nothing written) for any other type.</summary>
    public static bool TryWrite(Utf8JsonWriter w, object value)
    {
        switch (value)
        {
            case UeEvent e when TryWriteEvent(w, e):
                return true;
            case ControlCommand c when TryWriteCommand(w, c):
                return true;
            default:
                return false;
        }
    }

    private static bool TryWriteEvent(Utf8JsonWriter w, UeEvent e)
    {
        // Exact types only: a type derived from one of these would have more properties.
        switch (e)
        {
            case UeAttached a when a.GetType() == typeof(UeAttached):
                Begin(w, nameof(UeAttached));
                NullableString(w, Imsi, a.Imsi);
                w.WritePropertyName(UeAddress);
                Ip(w, a.UeAddress);
                EnbValue(w, Enb, a.Enb);
                w.WritePropertyName(CellId);
                if (a.CellId is { } cell)
                {
                    w.WriteNumberValue(cell);
                }
                else
                {
                    w.WriteNullValue();
                }

                BearerList(w, Bearers, a.Bearers);
                break;
            case BearerAdded b when b.GetType() == typeof(BearerAdded):
                Begin(w, nameof(BearerAdded));
                w.WritePropertyName(BearerName);
                BearerValue(w, b.Bearer);
                break;
            case BearerModified m when m.GetType() == typeof(BearerModified):
                Begin(w, nameof(BearerModified));
                w.WritePropertyName(Downlink);
                DownlinkValue(w, m.Downlink);
                break;
            case BearerReleased r when r.GetType() == typeof(BearerReleased):
                Begin(w, nameof(BearerReleased));
                w.WriteNumber(ERabId, r.ERabId);
                break;
            case HandoverPrepared p when p.GetType() == typeof(HandoverPrepared):
                Begin(w, nameof(HandoverPrepared));
                EnbValue(w, Source, p.Source);
                EnbValue(w, Target, p.Target);
                EnumValue(w, Kind, p.Kind);
                EcgiValue(w, TargetCell, p.TargetCell);
                NcgiValue(w, NrTargetCell, p.NrTargetCell);
                break;
            case HandoverExecuting x when x.GetType() == typeof(HandoverExecuting):
                Begin(w, nameof(HandoverExecuting));
                EnbValue(w, Target, x.Target);
                EcgiValue(w, TargetCell, x.TargetCell);
                NcgiValue(w, NrTargetCell, x.NrTargetCell);
                break;
            case HandoverCompleted c when c.GetType() == typeof(HandoverCompleted):
                Begin(w, nameof(HandoverCompleted));
                EnbValue(w, Target, c.Target);
                DownlinkList(w, c.Downlinks);
                EcgiValue(w, SourceCell, c.SourceCell);
                NcgiValue(w, NrSourceCell, c.NrSourceCell);
                break;
            case HandoverCancelled c when c.GetType() == typeof(HandoverCancelled):
                Begin(w, nameof(HandoverCancelled));
                EcgiValue(w, TargetCell, c.TargetCell);
                NcgiValue(w, NrTargetCell, c.NrTargetCell);
                w.WriteBoolean(Rejected, c.Rejected);
                break;
            case PathSwitched p when p.GetType() == typeof(PathSwitched):
                Begin(w, nameof(PathSwitched));
                EnbValue(w, Target, p.Target);
                DownlinkList(w, p.Downlinks);
                EcgiValue(w, SourceCell, p.SourceCell);
                NcgiValue(w, NrSourceCell, p.NrSourceCell);
                break;
            case UeReleasedToIdle i when i.GetType() == typeof(UeReleasedToIdle):
                Begin(w, nameof(UeReleasedToIdle));
                break;
            case ServiceRequested s when s.GetType() == typeof(ServiceRequested):
                Begin(w, nameof(ServiceRequested));
                EnbValue(w, Enb, s.Enb);
                BearerList(w, Bearers, s.Bearers);
                break;
            case Detached d when d.GetType() == typeof(Detached):
                Begin(w, nameof(Detached));
                break;
            case EnbIdentified n when n.GetType() == typeof(EnbIdentified):
                Begin(w, nameof(EnbIdentified));
                EnbValue(w, Was, n.Was);
                EnbValue(w, Now, n.Now);
                NullableString(w, Reason, n.Reason);
                break;
            default:
                return false;
        }

        // The base records' properties come after the type's own (the serializer's order), the summary last.
        w.WriteString(Ue, e.Ue.Value);
        EcgiValue(w, Cell, e.Cell);
        NcgiValue(w, NrCell, e.NrCell);
        TimeSpanValue(w, At, e.At);
        w.WriteString(Summary, McText.Describe(e));
        w.WriteEndObject();
        return true;
    }

    private static bool TryWriteCommand(Utf8JsonWriter w, ControlCommand c)
    {
        switch (c)
        {
            case CreatePvm p when p.GetType() == typeof(CreatePvm):
                PvmCommand(w, nameof(CreatePvm), p.Pvm, p.Site);
                break;
            case ResumePvm p when p.GetType() == typeof(ResumePvm):
                PvmCommand(w, nameof(ResumePvm), p.Pvm, p.Site);
                break;
            case SuspendPvm p when p.GetType() == typeof(SuspendPvm):
                PvmCommand(w, nameof(SuspendPvm), p.Pvm, p.Site);
                break;
            case DestroyPvm p when p.GetType() == typeof(DestroyPvm):
                PvmCommand(w, nameof(DestroyPvm), p.Pvm, p.Site);
                break;
            case Notify n when n.GetType() == typeof(Notify):
                Begin(w, nameof(Notify));
                TimeSpanValue(w, At, n.At);
                EnumValue(w, Kind, n.Kind);
                NullableString(w, Detail, n.Detail);
                NullableEnb(w, Source, n.Source);
                NullableEnb(w, Target, n.Target);
                break;
            case InstallSteering s when s.GetType() == typeof(InstallSteering) && s.Intent.GetType() == typeof(SteeringIntent):
                Begin(w, nameof(InstallSteering));
                w.WritePropertyName(Intent);
                IntentValue(w, s.Intent);
                break;
            case RemoveSteering r when r.GetType() == typeof(RemoveSteering):
                Begin(w, nameof(RemoveSteering));
                w.WriteString(SwitchSite, r.SwitchSite.Value);
                break;
            case ScheduleTimer t when t.GetType() == typeof(ScheduleTimer):
                Begin(w, nameof(ScheduleTimer));
                TimeSpanValue(w, Due, t.Due);
                EnumValue(w, Kind, t.Kind);
                w.WriteNumber(Token, t.Token);
                break;
            case StartMigration m when m.GetType() == typeof(StartMigration):
                Begin(w, nameof(StartMigration));
                w.WriteString(Migration, m.Migration.ToString());
                w.WriteString(Pvm, m.Pvm.Value);
                w.WriteString(From, m.From.Value);
                w.WriteString(To, m.To.Value);
                EnumValue(w, Reason, m.Reason);
                w.WriteNumber(ExpectedBenefit, m.ExpectedBenefit);
                break;
            case CancelMigration m when m.GetType() == typeof(CancelMigration):
                Begin(w, nameof(CancelMigration));
                w.WriteString(Migration, m.Migration.ToString());
                w.WriteString(Pvm, m.Pvm.Value);
                w.WriteString(From, m.From.Value);
                w.WriteString(To, m.To.Value);
                break;
            default:
                return false;
        }

        w.WriteString(Ue, c.Ue.Value);
        w.WriteString(Summary, McText.Describe(c));
        w.WriteEndObject();
        return true;
    }

    private static void Begin(Utf8JsonWriter w, string type)
    {
        w.WriteStartObject();
        w.WriteString(Type, type);
    }

    private static void PvmCommand(Utf8JsonWriter w, string type, PvmId pvm, SiteId site)
    {
        Begin(w, type);
        w.WriteString(Pvm, pvm.Value);
        w.WriteString(Site, site.Value);
    }

    private static void IntentValue(Utf8JsonWriter w, SteeringIntent i)
    {
        w.WriteStartObject();
        w.WriteString(Ue, i.Ue.Value);
        w.WritePropertyName(UeAddress);
        Ip(w, i.UeAddress);
        EnbValue(w, Enb, i.Enb);
        BearerList(w, Bearers, i.Bearers);
        w.WriteString(SwitchSite, i.SwitchSite.Value);
        w.WriteString(PvmSite, i.PvmSite.Value);
        w.WritePropertyName(PvmAddress);
        Ip(w, i.PvmAddress);
        w.WriteNumber(Version, i.Version);
        w.WriteEndObject();
    }

    private static void BearerList(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<Bearer>? bearers)
    {
        w.WritePropertyName(name);
        if (bearers is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (var b in bearers)
        {
            BearerValue(w, b);
        }

        w.WriteEndArray();
    }

    private static void BearerValue(Utf8JsonWriter w, Bearer? b)
    {
        if (b is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteNumber(ERabId, b.ERabId);
        w.WritePropertyName(Uplink);
        EndpointValue(w, b.Uplink);
        w.WritePropertyName(Downlink);
        EndpointValue(w, b.Downlink);
        w.WritePropertyName(Qci);
        if (b.Qci is { } q)
        {
            w.WriteNumberValue(q);
        }
        else
        {
            w.WriteNullValue();
        }

        w.WriteEndObject();
    }

    private static void DownlinkList(Utf8JsonWriter w, IReadOnlyList<BearerDownlink>? downlinks)
    {
        w.WritePropertyName(Downlinks);
        if (downlinks is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (var d in downlinks)
        {
            DownlinkValue(w, d);
        }

        w.WriteEndArray();
    }

    private static void DownlinkValue(Utf8JsonWriter w, BearerDownlink? d)
    {
        if (d is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteNumber(ERabId, d.ERabId);
        w.WritePropertyName(Downlink);
        EndpointValue(w, d.Downlink);
        w.WriteEndObject();
    }

    private static void EndpointValue(Utf8JsonWriter w, GtpEndpoint? e)
    {
        if (e is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WritePropertyName(Address);
        Ip(w, e.Address);
        w.WriteNumber(Teid, e.Teid);
        w.WriteEndObject();
    }

    private static void EcgiValue(Utf8JsonWriter w, JsonEncodedText name, Ecgi? cell)
    {
        w.WritePropertyName(name);
        if (cell is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        NullableString(w, Mcc, cell.Mcc);
        NullableString(w, Mnc, cell.Mnc);
        w.WriteNumber(CellId, cell.CellId);
        w.WriteEndObject();
    }

    private static void NcgiValue(Utf8JsonWriter w, JsonEncodedText name, Ncgi? cell)
    {
        w.WritePropertyName(name);
        if (cell is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        NullableString(w, Mcc, cell.Mcc);
        NullableString(w, Mnc, cell.Mnc);
        w.WriteNumber(NrCellId, cell.NrCellId);
        w.WriteEndObject();
    }

    private static void Ip(Utf8JsonWriter w, IPAddress? address)
    {
        if (address is null)
        {
            w.WriteNullValue();
            return;
        }

        Span<char> text = stackalloc char[64];
        if (address.TryFormat(text, out var written))
        {
            w.WriteStringValue(text[..written]);
        }
        else
        {
            w.WriteStringValue(address.ToString());
        }
    }

    private static void EnbValue(Utf8JsonWriter w, JsonEncodedText name, EnbId enb)
    {
        if (enb.IsGnb)
        {
            // A gNB as ReplayJson.JsonKey writes it ("gnb-N"); an eNB as its number, formatted without a string.
            w.WriteString(name, ReplayJson.JsonKey(enb));
            return;
        }

        Span<char> text = stackalloc char[16];
        enb.Value.TryFormat(text, out var written, default, CultureInfo.InvariantCulture);
        w.WriteString(name, text[..written]);
    }

    private static void NullableEnb(Utf8JsonWriter w, JsonEncodedText name, EnbId? enb)
    {
        if (enb is { } e)
        {
            EnbValue(w, name, e);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void NullableString(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>An enum by name as JsonStringEnumConverter writes it (a value with no name stays a number).</summary>
    private static void EnumValue<T>(Utf8JsonWriter w, JsonEncodedText name, T value)
        where T : struct, Enum
    {
        if (Enum.IsDefined(value))
        {
            w.WriteString(name, value.ToString());
        }
        else
        {
            w.WriteNumber(name, Convert.ToInt64(value, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A TimeSpan as the serializer writes it: the constant ("c") format.</summary>
    private static void TimeSpanValue(Utf8JsonWriter w, JsonEncodedText name, TimeSpan value)
    {
        Span<char> text = stackalloc char[32];
        value.TryFormat(text, out var written, "c", CultureInfo.InvariantCulture);
        w.WriteString(name, text[..written]);
    }
}
