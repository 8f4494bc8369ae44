using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Cli;

internal static partial class ReplayJsonFast
{
    /// <summary>The hand-written forms, compiled once per output (<see cref="IJsonOut"/>): direct calls, no interface dispatch.</summary>
    internal static class For<TOut>
        where TOut : struct, IJsonOut
    {
        /// <summary>Writes an event or command this class knows; false (nothing written) for any other type.</summary>
        /// <remarks>
        /// One type switch, the commands first and the most frequent types first (bench capture: Notify 30 % of the
        /// writes, steering 39 %, PVMs 24 %; the events UeAttached and Detached): the records are sealed, so each test
        /// is one compare of the object's type, and a match is the exact type (a derived type would have more
        /// properties). A table of delegates by type cost a lookup and two indirect calls per write, and left a generic
        /// cast and the lookup's comparer to the JIT in the composite build.
        /// </remarks>
        public static bool TryWrite(TOut w, object value)
        {
            // A writer with an encoder of its own would escape other characters than the cached text's default encoder.
            if (w.CustomEncoder)
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
        internal static void Seconds(TOut w, JsonName name, TimeSpan at)
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
        [SkipLocalsInit]
        private static void Summary(TOut w, UeEvent? e, ControlCommand? c)
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

        private static void Begin(TOut w, JsonEncodedText type)
        {
            w.WriteStartObject();
            w.WriteString(_type, type);
        }

        /// <summary>The base record's properties, after the type's own (the serializer's order), the summary last.</summary>
        private static void End(TOut w, UeEvent e)
        {
            String(w, _ue, e.Ue.Value);
            EcgiValue(w, _cell, e.Cell);
            NcgiValue(w, _nrCell, e.NrCell);
            TimeSpanValue(w, _at, e.At);
            Summary(w, e, null);
            w.WriteEndObject();
        }

        private static void End(TOut w, ControlCommand c)
        {
            String(w, _ue, c.Ue.Value);
            Summary(w, null, c);
            w.WriteEndObject();
        }

        /// <summary>A PathSwitched's or HandoverCompleted's own properties (the same ones, in the same order).</summary>
        private static void Switched(TOut w, EnbId target, IReadOnlyList<BearerDownlink>? downlinks, Ecgi? sourceCell, Ncgi? nrSourceCell)
        {
            EnbValue(w, _target, target);
            DownlinkList(w, downlinks);
            Cells(w, _sourceCell, sourceCell, _nrSourceCell, nrSourceCell);
        }

        private static void Cells(TOut w, JsonName ecgiName, Ecgi? ecgi, JsonName ncgiName, Ncgi? ncgi)
        {
            EcgiValue(w, ecgiName, ecgi);
            NcgiValue(w, ncgiName, ncgi);
        }

        private static void MigrationFields(TOut w, MigrationId migration, PvmId pvm, SiteId from, SiteId to)
        {
            w.WriteString(_migration, migration.ToString());
            String(w, _pvm, pvm.Value);
            String(w, _from, from.Value);
            String(w, _to, to.Value);
        }

        private static void PvmFields(TOut w, PvmId pvm, SiteId site)
        {
            String(w, _pvm, pvm.Value);
            String(w, _site, site.Value);
        }

        private static void IntentValue(TOut w, SteeringIntent i)
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
        private static void BearerList(TOut w, JsonName name, IReadOnlyList<Bearer>? bearers)
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

        private static void BearerValue(TOut w, Bearer? b)
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

        private static void DownlinkList(TOut w, IReadOnlyList<BearerDownlink>? downlinks)
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

        private static void DownlinkValue(TOut w, BearerDownlink? d)
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

        private static void EndpointValue(TOut w, GtpEndpoint? e)
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

        private static void EcgiValue(TOut w, JsonName name, Ecgi? cell)
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

        private static void NcgiValue(TOut w, JsonName name, Ncgi? cell)
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

        private static void Ip(TOut w, IPAddress? address)
        {
            if (address is null)
            {
                w.WriteNullValue();
                return;
            }

            // Formatted straight to UTF-8 (what ToString gives): most addresses of a replay are objects of their own,
            // decoded from their message, whose first ToString would allocate a string to be read once.
            Span<byte> utf8 = stackalloc byte[64];
            if (address.TryFormat(utf8, out var written))
            {
                w.WriteStringValue(utf8[..written]);
            }
            else
            {
                w.WriteStringValue(address.ToString());
            }
        }

        /// <summary>As ReplayJson.JsonKey writes it: an eNB as its number, a gNB as "gnb-N"; formatted straight to UTF-8.</summary>
        private static void EnbValue(TOut w, JsonName name, EnbId enb)
        {
            Span<byte> text = stackalloc byte[16];
            var prefix = enb.IsGnb ? "gnb-"u8 : default;
            prefix.CopyTo(text);
            enb.Value.TryFormat(text[prefix.Length..], out var written, default, CultureInfo.InvariantCulture);
            w.WriteString(name, text[..(prefix.Length + written)]);
        }

        private static void NullableEnb(TOut w, JsonName name, EnbId? enb)
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

        private static void NullableString(TOut w, JsonName name, string? value) => String(w, name, value);

        /// <summary>A string property as WriteString(name, string) writes it (null as null), its text from the cache.</summary>
        private static void String(TOut w, JsonName name, string? value)
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
        private static void EnumValue<T>(TOut w, JsonName name, T value)
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
        private static void TimeSpanValue(TOut w, JsonName name, TimeSpan value)
        {
            Span<byte> text = stackalloc byte[32];
            value.TryFormat(text, out var written, "c", CultureInfo.InvariantCulture);
            w.WriteString(name, text[..written]);
        }
    }
}
