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
    private static readonly JsonEncodedText _type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText _summary = JsonEncodedText.Encode("summary");
    private static readonly JsonEncodedText _ue = JsonEncodedText.Encode("ue");
    private static readonly JsonEncodedText _cell = JsonEncodedText.Encode("cell");
    private static readonly JsonEncodedText _at = JsonEncodedText.Encode("at");
    private static readonly JsonEncodedText _imsi = JsonEncodedText.Encode("imsi");
    private static readonly JsonEncodedText _ueAddress = JsonEncodedText.Encode("ueAddress");
    private static readonly JsonEncodedText _enb = JsonEncodedText.Encode("enb");
    private static readonly JsonEncodedText _cellId = JsonEncodedText.Encode("cellId");
    private static readonly JsonEncodedText _bearers = JsonEncodedText.Encode("bearers");
    private static readonly JsonEncodedText _bearerName = JsonEncodedText.Encode("bearer");
    private static readonly JsonEncodedText _eRabId = JsonEncodedText.Encode("eRabId");
    private static readonly JsonEncodedText _uplink = JsonEncodedText.Encode("uplink");
    private static readonly JsonEncodedText _downlink = JsonEncodedText.Encode("downlink");
    private static readonly JsonEncodedText _downlinks = JsonEncodedText.Encode("downlinks");
    private static readonly JsonEncodedText _address = JsonEncodedText.Encode("address");
    private static readonly JsonEncodedText _teid = JsonEncodedText.Encode("teid");
    private static readonly JsonEncodedText _qci = JsonEncodedText.Encode("qci");
    private static readonly JsonEncodedText _mcc = JsonEncodedText.Encode("mcc");
    private static readonly JsonEncodedText _mnc = JsonEncodedText.Encode("mnc");
    private static readonly JsonEncodedText _nrCell = JsonEncodedText.Encode("nrCell");
    private static readonly JsonEncodedText _nrCellId = JsonEncodedText.Encode("nrCellId");
    private static readonly JsonEncodedText _nrTargetCell = JsonEncodedText.Encode("nrTargetCell");
    private static readonly JsonEncodedText _nrSourceCell = JsonEncodedText.Encode("nrSourceCell");
    private static readonly JsonEncodedText _source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText _target = JsonEncodedText.Encode("target");
    private static readonly JsonEncodedText _kind = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText _targetCell = JsonEncodedText.Encode("targetCell");
    private static readonly JsonEncodedText _sourceCell = JsonEncodedText.Encode("sourceCell");
    private static readonly JsonEncodedText _rejected = JsonEncodedText.Encode("rejected");
    private static readonly JsonEncodedText _was = JsonEncodedText.Encode("was");
    private static readonly JsonEncodedText _now = JsonEncodedText.Encode("now");
    private static readonly JsonEncodedText _reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText _pvm = JsonEncodedText.Encode("pvm");
    private static readonly JsonEncodedText _site = JsonEncodedText.Encode("site");
    private static readonly JsonEncodedText _detail = JsonEncodedText.Encode("detail");
    private static readonly JsonEncodedText _intent = JsonEncodedText.Encode("intent");
    private static readonly JsonEncodedText _switchSite = JsonEncodedText.Encode("switchSite");
    private static readonly JsonEncodedText _pvmSite = JsonEncodedText.Encode("pvmSite");
    private static readonly JsonEncodedText _pvmAddress = JsonEncodedText.Encode("pvmAddress");
    private static readonly JsonEncodedText _version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText _due = JsonEncodedText.Encode("due");
    private static readonly JsonEncodedText _token = JsonEncodedText.Encode("token");
    private static readonly JsonEncodedText _migration = JsonEncodedText.Encode("migration");
    private static readonly JsonEncodedText _from = JsonEncodedText.Encode("from");
    private static readonly JsonEncodedText _to = JsonEncodedText.Encode("to");
    private static readonly JsonEncodedText _expectedBenefit = JsonEncodedText.Encode("expectedBenefit");

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
                NullableString(w, _imsi, a.Imsi);
                w.WritePropertyName(_ueAddress);
                Ip(w, a.UeAddress);
                EnbValue(w, _enb, a.Enb);
                w.WritePropertyName(_cellId);
                if (a.CellId is { } cell)
                {
                    w.WriteNumberValue(cell);
                }
                else
                {
                    w.WriteNullValue();
                }

                BearerList(w, _bearers, a.Bearers);
                break;
            case BearerAdded b when b.GetType() == typeof(BearerAdded):
                Begin(w, nameof(BearerAdded));
                w.WritePropertyName(_bearerName);
                BearerValue(w, b.Bearer);
                break;
            case BearerModified m when m.GetType() == typeof(BearerModified):
                Begin(w, nameof(BearerModified));
                w.WritePropertyName(_downlink);
                DownlinkValue(w, m.Downlink);
                break;
            case BearerReleased r when r.GetType() == typeof(BearerReleased):
                Begin(w, nameof(BearerReleased));
                w.WriteNumber(_eRabId, r.ERabId);
                break;
            case HandoverPrepared p when p.GetType() == typeof(HandoverPrepared):
                Begin(w, nameof(HandoverPrepared));
                EnbValue(w, _source, p.Source);
                EnbValue(w, _target, p.Target);
                EnumValue(w, _kind, p.Kind);
                EcgiValue(w, _targetCell, p.TargetCell);
                NcgiValue(w, _nrTargetCell, p.NrTargetCell);
                break;
            case HandoverExecuting x when x.GetType() == typeof(HandoverExecuting):
                Begin(w, nameof(HandoverExecuting));
                EnbValue(w, _target, x.Target);
                EcgiValue(w, _targetCell, x.TargetCell);
                NcgiValue(w, _nrTargetCell, x.NrTargetCell);
                break;
            case HandoverCompleted c when c.GetType() == typeof(HandoverCompleted):
                Begin(w, nameof(HandoverCompleted));
                EnbValue(w, _target, c.Target);
                DownlinkList(w, c.Downlinks);
                EcgiValue(w, _sourceCell, c.SourceCell);
                NcgiValue(w, _nrSourceCell, c.NrSourceCell);
                break;
            case HandoverCancelled c when c.GetType() == typeof(HandoverCancelled):
                Begin(w, nameof(HandoverCancelled));
                EcgiValue(w, _targetCell, c.TargetCell);
                NcgiValue(w, _nrTargetCell, c.NrTargetCell);
                w.WriteBoolean(_rejected, c.Rejected);
                break;
            case PathSwitched p when p.GetType() == typeof(PathSwitched):
                Begin(w, nameof(PathSwitched));
                EnbValue(w, _target, p.Target);
                DownlinkList(w, p.Downlinks);
                EcgiValue(w, _sourceCell, p.SourceCell);
                NcgiValue(w, _nrSourceCell, p.NrSourceCell);
                break;
            case UeReleasedToIdle i when i.GetType() == typeof(UeReleasedToIdle):
                Begin(w, nameof(UeReleasedToIdle));
                break;
            case ServiceRequested s when s.GetType() == typeof(ServiceRequested):
                Begin(w, nameof(ServiceRequested));
                EnbValue(w, _enb, s.Enb);
                BearerList(w, _bearers, s.Bearers);
                break;
            case Detached d when d.GetType() == typeof(Detached):
                Begin(w, nameof(Detached));
                break;
            case EnbIdentified n when n.GetType() == typeof(EnbIdentified):
                Begin(w, nameof(EnbIdentified));
                EnbValue(w, _was, n.Was);
                EnbValue(w, _now, n.Now);
                NullableString(w, _reason, n.Reason);
                break;
            default:
                return false;
        }

        // The base records' properties come after the type's own (the serializer's order), the summary last.
        w.WriteString(_ue, e.Ue.Value);
        EcgiValue(w, _cell, e.Cell);
        NcgiValue(w, _nrCell, e.NrCell);
        TimeSpanValue(w, _at, e.At);
        w.WriteString(_summary, McText.Describe(e));
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
                TimeSpanValue(w, _at, n.At);
                EnumValue(w, _kind, n.Kind);
                NullableString(w, _detail, n.Detail);
                NullableEnb(w, _source, n.Source);
                NullableEnb(w, _target, n.Target);
                break;
            case InstallSteering s when s.GetType() == typeof(InstallSteering) && s.Intent.GetType() == typeof(SteeringIntent):
                Begin(w, nameof(InstallSteering));
                w.WritePropertyName(_intent);
                IntentValue(w, s.Intent);
                break;
            case RemoveSteering r when r.GetType() == typeof(RemoveSteering):
                Begin(w, nameof(RemoveSteering));
                w.WriteString(_switchSite, r.SwitchSite.Value);
                break;
            case ScheduleTimer t when t.GetType() == typeof(ScheduleTimer):
                Begin(w, nameof(ScheduleTimer));
                TimeSpanValue(w, _due, t.Due);
                EnumValue(w, _kind, t.Kind);
                w.WriteNumber(_token, t.Token);
                break;
            case StartMigration m when m.GetType() == typeof(StartMigration):
                Begin(w, nameof(StartMigration));
                w.WriteString(_migration, m.Migration.ToString());
                w.WriteString(_pvm, m.Pvm.Value);
                w.WriteString(_from, m.From.Value);
                w.WriteString(_to, m.To.Value);
                EnumValue(w, _reason, m.Reason);
                w.WriteNumber(_expectedBenefit, m.ExpectedBenefit);
                break;
            case CancelMigration m when m.GetType() == typeof(CancelMigration):
                Begin(w, nameof(CancelMigration));
                w.WriteString(_migration, m.Migration.ToString());
                w.WriteString(_pvm, m.Pvm.Value);
                w.WriteString(_from, m.From.Value);
                w.WriteString(_to, m.To.Value);
                break;
            default:
                return false;
        }

        w.WriteString(_ue, c.Ue.Value);
        w.WriteString(_summary, McText.Describe(c));
        w.WriteEndObject();
        return true;
    }

    private static void Begin(Utf8JsonWriter w, string type)
    {
        w.WriteStartObject();
        w.WriteString(_type, type);
    }

    private static void PvmCommand(Utf8JsonWriter w, string type, PvmId pvm, SiteId site)
    {
        Begin(w, type);
        w.WriteString(_pvm, pvm.Value);
        w.WriteString(_site, site.Value);
    }

    private static void IntentValue(Utf8JsonWriter w, SteeringIntent i)
    {
        w.WriteStartObject();
        w.WriteString(_ue, i.Ue.Value);
        w.WritePropertyName(_ueAddress);
        Ip(w, i.UeAddress);
        EnbValue(w, _enb, i.Enb);
        BearerList(w, _bearers, i.Bearers);
        w.WriteString(_switchSite, i.SwitchSite.Value);
        w.WriteString(_pvmSite, i.PvmSite.Value);
        w.WritePropertyName(_pvmAddress);
        Ip(w, i.PvmAddress);
        w.WriteNumber(_version, i.Version);
        w.WriteEndObject();
    }

    private static void BearerList(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<Bearer>? bearers)
    {
        w.WritePropertyName(name);
        ListValue(w, bearers, BearerValue);
    }

    private static void BearerValue(Utf8JsonWriter w, Bearer? b) => ObjectValue(w, b, static (w, b) =>
    {
        w.WriteNumber(_eRabId, b.ERabId);
        w.WritePropertyName(_uplink);
        EndpointValue(w, b.Uplink);
        w.WritePropertyName(_downlink);
        EndpointValue(w, b.Downlink);
        if (b.Qci is { } q)
        {
            w.WriteNumber(_qci, q);
        }
        else
        {
            w.WriteNull(_qci);
        }
    });

    private static void DownlinkList(Utf8JsonWriter w, IReadOnlyList<BearerDownlink>? downlinks)
    {
        w.WritePropertyName(_downlinks);
        ListValue(w, downlinks, DownlinkValue);
    }

    private static void DownlinkValue(Utf8JsonWriter w, BearerDownlink? d) => ObjectValue(w, d, static (w, d) =>
    {
        w.WriteNumber(_eRabId, d.ERabId);
        w.WritePropertyName(_downlink);
        EndpointValue(w, d.Downlink);
    });

    private static void EndpointValue(Utf8JsonWriter w, GtpEndpoint? e) => ObjectValue(w, e, static (w, e) =>
    {
        w.WritePropertyName(_address);
        Ip(w, e.Address);
        w.WriteNumber(_teid, e.Teid);
    });

    private static void EcgiValue(Utf8JsonWriter w, JsonEncodedText name, Ecgi? cell)
    {
        w.WritePropertyName(name);
        ObjectValue(w, cell, static (w, cell) =>
        {
            NullableString(w, _mcc, cell.Mcc);
            NullableString(w, _mnc, cell.Mnc);
            w.WriteNumber(_cellId, cell.CellId);
        });
    }

    private static void NcgiValue(Utf8JsonWriter w, JsonEncodedText name, Ncgi? cell)
    {
        w.WritePropertyName(name);
        ObjectValue(w, cell, static (w, cell) =>
        {
            NullableString(w, _mcc, cell.Mcc);
            NullableString(w, _mnc, cell.Mnc);
            w.WriteNumber(_nrCellId, cell.NrCellId);
        });
    }

    /// <summary>A list as the serializer writes it: null, or an array of <paramref name="item"/>'s values.</summary>
    private static void ListValue<T>(Utf8JsonWriter w, IReadOnlyList<T>? items, Action<Utf8JsonWriter, T> item)
    {
        if (items is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (var i in items)
        {
            item(w, i);
        }

        w.WriteEndArray();
    }

    /// <summary>An object as the serializer writes it: null, or <paramref name="body"/>'s properties in braces.</summary>
    private static void ObjectValue<T>(Utf8JsonWriter w, T? value, Action<Utf8JsonWriter, T> body)
        where T : class
    {
        if (value is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        body(w, value);
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
