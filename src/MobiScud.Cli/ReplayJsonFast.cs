using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
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

    // The tick counts Seconds writes as a decimal (0.0001 s, 4e8 s).
    private const long MinDecimalTicks = 1_000;
    private const long MaxDecimalTicks = 4_000_000_000_000_000;

    // The values that repeat from entry to entry, encoded once (EncodedTextCache).
    private static readonly EncodedTextCache _strings = new();

    // The type names written first, encoded once.
    private static readonly JsonEncodedText _notify = TypeName<Notify>();
    private static readonly JsonEncodedText _installSteering = TypeName<InstallSteering>();
    private static readonly JsonEncodedText _removeSteering = TypeName<RemoveSteering>();
    private static readonly JsonEncodedText _suspendPvm = TypeName<SuspendPvm>();
    private static readonly JsonEncodedText _resumePvm = TypeName<ResumePvm>();
    private static readonly JsonEncodedText _createPvm = TypeName<CreatePvm>();
    private static readonly JsonEncodedText _destroyPvm = TypeName<DestroyPvm>();
    private static readonly JsonEncodedText _scheduleTimer = TypeName<ScheduleTimer>();
    private static readonly JsonEncodedText _startMigration = TypeName<StartMigration>();
    private static readonly JsonEncodedText _cancelMigration = TypeName<CancelMigration>();
    private static readonly JsonEncodedText _ueAttached = TypeName<UeAttached>();
    private static readonly JsonEncodedText _detached = TypeName<Detached>();
    private static readonly JsonEncodedText _ueReleasedToIdle = TypeName<UeReleasedToIdle>();
    private static readonly JsonEncodedText _bearerAdded = TypeName<BearerAdded>();
    private static readonly JsonEncodedText _serviceRequested = TypeName<ServiceRequested>();
    private static readonly JsonEncodedText _handoverPrepared = TypeName<HandoverPrepared>();
    private static readonly JsonEncodedText _handoverExecuting = TypeName<HandoverExecuting>();
    private static readonly JsonEncodedText _bearerReleased = TypeName<BearerReleased>();
    private static readonly JsonEncodedText _pathSwitched = TypeName<PathSwitched>();
    private static readonly JsonEncodedText _handoverCompleted = TypeName<HandoverCompleted>();
    private static readonly JsonEncodedText _handoverCancelled = TypeName<HandoverCancelled>();
    private static readonly JsonEncodedText _bearerModified = TypeName<BearerModified>();
    private static readonly JsonEncodedText _enbIdentified = TypeName<EnbIdentified>();

    /// <summary>Writes an event or command this class knows; false (nothing written) for any other type.</summary>
    /// <remarks>
    /// One type switch, the commands first and the most frequent types first (bench capture: Notify 30 % of the
    /// writes, steering 39 %, PVMs 24 %; the events UeAttached and Detached): the records are sealed, so each test
    /// is one compare of the object's type, and a match is the exact type (a derived type would have more
    /// properties). A table of delegates by type cost a lookup and two indirect calls per write, and left a generic
    /// cast and the lookup's comparer to the JIT in the composite build.
    /// </remarks>
    public static bool TryWrite(Utf8JsonWriter w, object value)
    {
        // A writer with an encoder of its own would escape other characters than the cached text's default encoder.
        if (w.Options.Encoder is not null)
        {
            return false;
        }

        switch (value)
        {
            case Notify n:
                Begin(w, _notify);
                TimeSpanValue(w, _at, n.At);
                EnumValue(w, _kind, n.Kind);
                NullableString(w, _detail, n.Detail);
                NullableEnb(w, _source, n.Source);
                NullableEnb(w, _target, n.Target);
                End(w, n);
                return true;
            case InstallSteering s:
                Begin(w, _installSteering);
                w.WritePropertyName(_intent);
                IntentValue(w, s.Intent);
                End(w, s);
                return true;
            case RemoveSteering r:
                Begin(w, _removeSteering);
                String(w, _switchSite, r.SwitchSite.Value);
                End(w, r);
                return true;
            case SuspendPvm p:
                Begin(w, _suspendPvm);
                PvmFields(w, p.Pvm, p.Site);
                End(w, p);
                return true;
            case ResumePvm p:
                Begin(w, _resumePvm);
                PvmFields(w, p.Pvm, p.Site);
                End(w, p);
                return true;
            case UeAttached a:
                Begin(w, _ueAttached);
                NullableString(w, _imsi, a.Imsi);
                w.WritePropertyName(_ueAddress);
                Ip(w, a.UeAddress);
                EnbValue(w, _enb, a.Enb);
                if (a.CellId is { } cell)
                {
                    w.WriteNumber(_cellId, cell);
                }
                else
                {
                    w.WriteNull(_cellId);
                }

                BearerList(w, _bearers, a.Bearers);
                End(w, a);
                return true;
            case Detached d:
                Begin(w, _detached);
                End(w, d);
                return true;
            case UeReleasedToIdle i:
                Begin(w, _ueReleasedToIdle);
                End(w, i);
                return true;
            case BearerAdded b:
                Begin(w, _bearerAdded);
                w.WritePropertyName(_bearerName);
                BearerValue(w, b.Bearer);
                End(w, b);
                return true;
            case ServiceRequested s:
                Begin(w, _serviceRequested);
                EnbValue(w, _enb, s.Enb);
                BearerList(w, _bearers, s.Bearers);
                End(w, s);
                return true;
            case HandoverPrepared p:
                Begin(w, _handoverPrepared);
                EnbValue(w, _source, p.Source);
                EnbValue(w, _target, p.Target);
                EnumValue(w, _kind, p.Kind);
                Cells(w, _targetCell, p.TargetCell, _nrTargetCell, p.NrTargetCell);
                End(w, p);
                return true;
            case HandoverExecuting x:
                Begin(w, _handoverExecuting);
                EnbValue(w, _target, x.Target);
                Cells(w, _targetCell, x.TargetCell, _nrTargetCell, x.NrTargetCell);
                End(w, x);
                return true;
            case BearerReleased r:
                Begin(w, _bearerReleased);
                w.WriteNumber(_eRabId, r.ERabId);
                End(w, r);
                return true;
            case PathSwitched p:
                Begin(w, _pathSwitched);
                Switched(w, p.Target, p.Downlinks, p.SourceCell, p.NrSourceCell);
                End(w, p);
                return true;
            case HandoverCompleted c:
                Begin(w, _handoverCompleted);
                Switched(w, c.Target, c.Downlinks, c.SourceCell, c.NrSourceCell);
                End(w, c);
                return true;
            case HandoverCancelled c:
                Begin(w, _handoverCancelled);
                Cells(w, _targetCell, c.TargetCell, _nrTargetCell, c.NrTargetCell);
                w.WriteBoolean(_rejected, c.Rejected);
                End(w, c);
                return true;
            case CreatePvm p:
                Begin(w, _createPvm);
                PvmFields(w, p.Pvm, p.Site);
                End(w, p);
                return true;
            case DestroyPvm p:
                Begin(w, _destroyPvm);
                PvmFields(w, p.Pvm, p.Site);
                End(w, p);
                return true;
            case ScheduleTimer t:
                Begin(w, _scheduleTimer);
                TimeSpanValue(w, _due, t.Due);
                EnumValue(w, _kind, t.Kind);
                w.WriteNumber(_token, t.Token);
                End(w, t);
                return true;
            case StartMigration m:
                Begin(w, _startMigration);
                MigrationFields(w, m.Migration, m.Pvm, m.From, m.To);
                EnumValue(w, _reason, m.Reason);
                w.WriteNumber(_expectedBenefit, m.ExpectedBenefit);
                End(w, m);
                return true;
            case CancelMigration m:
                Begin(w, _cancelMigration);
                MigrationFields(w, m.Migration, m.Pvm, m.From, m.To);
                End(w, m);
                return true;
            case BearerModified m:
                Begin(w, _bearerModified);
                w.WritePropertyName(_downlink);
                DownlinkValue(w, m.Downlink);
                End(w, m);
                return true;
            case EnbIdentified n:
                Begin(w, _enbIdentified);
                EnbValue(w, _was, n.Was);
                EnbValue(w, _now, n.Now);
                NullableString(w, _reason, n.Reason);
                End(w, n);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// A time in seconds as WriteNumber(name, at.TotalSeconds) writes it, without the double's search for its shortest
    /// digits (a twentieth of the render): between 0.0001 s (below it the double is written with an exponent) and 4e8 s
    /// (below it two doubles are closer than a tick, so the shortest digits that give the double back are the tick
    /// count's own), it is the tick count as a decimal of scale 7, trailing zeros dropped. Other times go as a double.
    /// </summary>
    internal static void Seconds(Utf8JsonWriter w, JsonEncodedText name, TimeSpan at)
    {
        var ticks = at.Ticks;
        if (ticks is <= -MaxDecimalTicks or (> -MinDecimalTicks and < MinDecimalTicks) or >= MaxDecimalTicks)
        {
            w.WriteNumber(name, at.TotalSeconds);
            return;
        }

        var magnitude = (ulong)Math.Abs(ticks);
        byte scale = 7;
        while (scale > 0 && magnitude % 10 == 0)
        {
            magnitude /= 10;
            scale--;
        }

        w.WriteNumber(name, new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), 0, ticks < 0, scale));
    }

    /// <summary>
    /// The summary as McText writes it, in UTF-8 straight into the writer: no string per entry. A line longer than the
    /// stack buffer (a long Notify detail) takes McText's string.
    /// </summary>
    private static void Summary(Utf8JsonWriter w, UeEvent? e, ControlCommand? c)
    {
        Span<byte> line = stackalloc byte[512];
        if (e is not null ? McText.TryDescribe(e, line, out var written) : McText.TryDescribe(c!, line, out written))
        {
            w.WriteString(_summary, line[..written]);
        }
        else
        {
            w.WriteString(_summary, e is not null ? McText.Describe(e) : McText.Describe(c!));
        }
    }

    private static JsonEncodedText TypeName<T>() => JsonEncodedText.Encode(typeof(T).Name);

    private static void Begin(Utf8JsonWriter w, JsonEncodedText type)
    {
        w.WriteStartObject();
        w.WriteString(_type, type);
    }

    /// <summary>The base record's properties, after the type's own (the serializer's order), the summary last.</summary>
    private static void End(Utf8JsonWriter w, UeEvent e)
    {
        String(w, _ue, e.Ue.Value);
        EcgiValue(w, _cell, e.Cell);
        NcgiValue(w, _nrCell, e.NrCell);
        TimeSpanValue(w, _at, e.At);
        Summary(w, e, null);
        w.WriteEndObject();
    }

    private static void End(Utf8JsonWriter w, ControlCommand c)
    {
        String(w, _ue, c.Ue.Value);
        Summary(w, null, c);
        w.WriteEndObject();
    }

    /// <summary>A PathSwitched's or HandoverCompleted's own properties (the same ones, in the same order).</summary>
    private static void Switched(Utf8JsonWriter w, EnbId target, IReadOnlyList<BearerDownlink>? downlinks, Ecgi? sourceCell, Ncgi? nrSourceCell)
    {
        EnbValue(w, _target, target);
        DownlinkList(w, downlinks);
        Cells(w, _sourceCell, sourceCell, _nrSourceCell, nrSourceCell);
    }

    private static void Cells(Utf8JsonWriter w, JsonEncodedText ecgiName, Ecgi? ecgi, JsonEncodedText ncgiName, Ncgi? ncgi)
    {
        EcgiValue(w, ecgiName, ecgi);
        NcgiValue(w, ncgiName, ncgi);
    }

    private static void MigrationFields(Utf8JsonWriter w, MigrationId migration, PvmId pvm, SiteId from, SiteId to)
    {
        w.WriteString(_migration, migration.ToString());
        String(w, _pvm, pvm.Value);
        String(w, _from, from.Value);
        String(w, _to, to.Value);
    }

    private static void PvmFields(Utf8JsonWriter w, PvmId pvm, SiteId site)
    {
        String(w, _pvm, pvm.Value);
        String(w, _site, site.Value);
    }

    private static void IntentValue(Utf8JsonWriter w, SteeringIntent i)
    {
        w.WriteStartObject();
        String(w, _ue, i.Ue.Value);
        w.WritePropertyName(_ueAddress);
        Ip(w, i.UeAddress);
        EnbValue(w, _enb, i.Enb);
        BearerList(w, _bearers, i.Bearers);
        String(w, _switchSite, i.SwitchSite.Value);
        String(w, _pvmSite, i.PvmSite.Value);
        w.WritePropertyName(_pvmAddress);
        Ip(w, i.PvmAddress);
        w.WriteNumber(_version, i.Version);
        w.WriteEndObject();
    }

    // The value writers below are plain methods, not delegates over a shared generic: called for every bearer and
    // endpoint of every entry, the delegate and interface dispatch cost more than the bytes they write.
    private static void BearerList(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<Bearer>? bearers)
    {
        w.WritePropertyName(name);
        if (bearers is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        for (var i = 0; i < bearers.Count; i++)
        {
            BearerValue(w, bearers[i]);
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

        w.WriteEndObject();
    }

    private static void DownlinkList(Utf8JsonWriter w, IReadOnlyList<BearerDownlink>? downlinks)
    {
        w.WritePropertyName(_downlinks);
        if (downlinks is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        for (var i = 0; i < downlinks.Count; i++)
        {
            DownlinkValue(w, downlinks[i]);
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
        w.WriteNumber(_eRabId, d.ERabId);
        w.WritePropertyName(_downlink);
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
        w.WritePropertyName(_address);
        Ip(w, e.Address);
        w.WriteNumber(_teid, e.Teid);
        w.WriteEndObject();
    }

    private static void EcgiValue(Utf8JsonWriter w, JsonEncodedText name, Ecgi? cell)
    {
        if (cell is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        NullableString(w, _mcc, cell.Mcc);
        NullableString(w, _mnc, cell.Mnc);
        w.WriteNumber(_cellId, cell.CellId);
        w.WriteEndObject();
    }

    private static void NcgiValue(Utf8JsonWriter w, JsonEncodedText name, Ncgi? cell)
    {
        if (cell is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        NullableString(w, _mcc, cell.Mcc);
        NullableString(w, _mnc, cell.Mnc);
        w.WriteNumber(_nrCellId, cell.NrCellId);
        w.WriteEndObject();
    }

    private static void Ip(Utf8JsonWriter w, IPAddress? address)
    {
        if (address is null)
        {
            w.WriteNullValue();
            return;
        }

        // The address caches its text on the first ToString; the entries of a replay share a few addresses.
        var text = address.ToString();
        if (_strings.TryGet(text, out var encoded))
        {
            w.WriteStringValue(encoded);
        }
        else
        {
            w.WriteStringValue(text);
        }
    }

    /// <summary>As ReplayJson.JsonKey writes it: an eNB as its number, a gNB as "gnb-N"; formatted straight to UTF-8.</summary>
    private static void EnbValue(Utf8JsonWriter w, JsonEncodedText name, EnbId enb)
    {
        Span<byte> text = stackalloc byte[16];
        var prefix = enb.IsGnb ? "gnb-"u8 : default;
        prefix.CopyTo(text);
        enb.Value.TryFormat(text[prefix.Length..], out var written, default, CultureInfo.InvariantCulture);
        w.WriteString(name, text[..(prefix.Length + written)]);
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

    private static void NullableString(Utf8JsonWriter w, JsonEncodedText name, string? value) => String(w, name, value);

    /// <summary>A string property as WriteString(name, string) writes it (null as null), its text from the cache.</summary>
    private static void String(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else if (_strings.TryGet(value, out var text))
        {
            w.WriteString(name, text);
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
        var names = EnumNames<T>.ByValue;
        var index = Unsafe.SizeOf<T>() == sizeof(int) ? Unsafe.As<T, int>(ref value) : -1;
        if ((uint)index < (uint)names.Length && names[index].EncodedUtf8Bytes.Length > 0)
        {
            w.WriteString(name, names[index]);
        }
        else if (Enum.IsDefined(value))
        {
            w.WriteString(name, value.ToString());
        }
        else
        {
            w.WriteNumber(name, Convert.ToInt64(value, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A TimeSpan as the serializer writes it: the constant ("c") format, formatted straight to UTF-8.</summary>
    private static void TimeSpanValue(Utf8JsonWriter w, JsonEncodedText name, TimeSpan value)
    {
        Span<byte> text = stackalloc byte[32];
        value.TryFormat(text, out var written, "c", CultureInfo.InvariantCulture);
        w.WriteString(name, text[..written]);
    }

    /// <summary>
    /// The encoded name of each defined value 0..63 of an enum (what Enum.IsDefined accepts), as ToString names it,
    /// by value: an array read, where a dictionary over the enum would take a comparer the composite image does not
    /// hold. Other values (none in the model's enums) take Enum.IsDefined and ToString.
    /// </summary>
    private static class EnumNames<T>
        where T : struct, Enum
    {
        public static readonly JsonEncodedText[] ByValue = Build();

        private static JsonEncodedText[] Build()
        {
            var names = new JsonEncodedText[64];
            var length = 0;
            if (Unsafe.SizeOf<T>() == sizeof(int))
            {
                foreach (var v in Enum.GetValues<T>())
                {
                    var copy = v;
                    var index = Unsafe.As<T, int>(ref copy);
                    if ((uint)index < (uint)names.Length && names[index].EncodedUtf8Bytes.Length == 0)
                    {
                        names[index] = JsonEncodedText.Encode(v.ToString());
                        length = Math.Max(length, index + 1);
                    }
                }
            }

            return names[..length];
        }
    }
}
