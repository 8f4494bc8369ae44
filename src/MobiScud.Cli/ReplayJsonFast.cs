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
internal static partial class ReplayJsonFast
{
    private static readonly JsonName _type = new("type");
    private static readonly JsonName _summary = new("summary");
    private static readonly JsonName _ue = new("ue");
    private static readonly JsonName _cell = new("cell");
    private static readonly JsonName _at = new("at");
    private static readonly JsonName _imsi = new("imsi");
    private static readonly JsonName _ueAddress = new("ueAddress");
    private static readonly JsonName _enb = new("enb");
    private static readonly JsonName _cellId = new("cellId");
    private static readonly JsonName _bearers = new("bearers");
    private static readonly JsonName _bearerName = new("bearer");
    private static readonly JsonName _eRabId = new("eRabId");
    private static readonly JsonName _uplink = new("uplink");
    private static readonly JsonName _downlink = new("downlink");
    private static readonly JsonName _downlinks = new("downlinks");
    private static readonly JsonName _address = new("address");
    private static readonly JsonName _teid = new("teid");
    private static readonly JsonName _qci = new("qci");
    private static readonly JsonName _mcc = new("mcc");
    private static readonly JsonName _mnc = new("mnc");
    private static readonly JsonName _nrCell = new("nrCell");
    private static readonly JsonName _nrCellId = new("nrCellId");
    private static readonly JsonName _nrTargetCell = new("nrTargetCell");
    private static readonly JsonName _nrSourceCell = new("nrSourceCell");
    private static readonly JsonName _source = new("source");
    private static readonly JsonName _target = new("target");
    private static readonly JsonName _kind = new("kind");
    private static readonly JsonName _targetCell = new("targetCell");
    private static readonly JsonName _sourceCell = new("sourceCell");
    private static readonly JsonName _rejected = new("rejected");
    private static readonly JsonName _was = new("was");
    private static readonly JsonName _now = new("now");
    private static readonly JsonName _reason = new("reason");
    private static readonly JsonName _pvm = new("pvm");
    private static readonly JsonName _site = new("site");
    private static readonly JsonName _detail = new("detail");
    private static readonly JsonName _intent = new("intent");
    private static readonly JsonName _switchSite = new("switchSite");
    private static readonly JsonName _pvmSite = new("pvmSite");
    private static readonly JsonName _pvmAddress = new("pvmAddress");
    private static readonly JsonName _version = new("version");
    private static readonly JsonName _due = new("due");
    private static readonly JsonName _token = new("token");
    private static readonly JsonName _migration = new("migration");
    private static readonly JsonName _from = new("from");
    private static readonly JsonName _to = new("to");
    private static readonly JsonName _expectedBenefit = new("expectedBenefit");

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

    /// <summary><see cref="For{TOut}.TryWrite"/> to any <see cref="Utf8JsonWriter"/>.</summary>
    public static bool TryWrite(Utf8JsonWriter w, object value) => For<Utf8Out>.TryWrite(new Utf8Out(w), value);

    private static JsonEncodedText TypeName<T>() => JsonEncodedText.Encode(typeof(T).Name);

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
