using System.Runtime.CompilerServices;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Aper;

/// <summary>One ProtocolIE-Field of an S1AP or NGAP message: id, criticality and the value's open-type content kept as opaque bytes.</summary>
public abstract record ProtocolIeField(ushort Id, Criticality Criticality, ReadOnlyMemory<byte> Value)
{
    /// <summary>An APER reader positioned on the value content (for the S1apIeCodec / NgapIeCodec Read* decoders).</summary>
    public AperReader Reader() => new(Value.Span);
}

/// <summary>
/// An S1AP-PDU or NGAP-PDU as an editable object (<see cref="S1apMessage"/>, <see cref="Ngap.NgapMessage"/>): header
/// plus the ProtocolIE-Container with every IE kept as its raw open-type bytes, so <see cref="Encode"/> of a decoded
/// message gives back the same bytes (for canonical APER input, which is what every encoder emits). The protocol
/// supplies its enums (both byte-sized, as the PDU's procedureCode is 0..255), its IE record and message names.
/// </summary>
public abstract class ApMessage<TPduType, TProcedureCode, TIe>
    where TPduType : struct, Enum
    where TProcedureCode : struct, Enum
    where TIe : ProtocolIeField
{
    private protected ApMessage(TPduType pduType, TProcedureCode procedureCode, Criticality criticality, IReadOnlyList<TIe> protocolIes)
    {
        PduType = pduType;
        ProcedureCode = procedureCode;
        Criticality = criticality;
        ProtocolIes = protocolIes;
    }

    private protected ApMessage(ApPduParts<TIe> parts)
        : this(Unsafe.BitCast<byte, TPduType>((byte)parts.Header.PduType), Unsafe.BitCast<byte, TProcedureCode>(parts.Header.ProcedureCode), parts.Header.Criticality, parts.Fields)
    {
        ValueExtended = parts.ValueExtended;
        ValueTail = parts.ValueTail;
        OpaqueValue = parts.OpaqueValue;
        PduTrailer = parts.PduTrailer;
    }

    public TPduType PduType { get; }

    public TProcedureCode ProcedureCode { get; }

    public Criticality Criticality { get; }

    public IReadOnlyList<TIe> ProtocolIes { get; }

    /// <summary>The message SEQUENCE's extension bit (set when extension additions follow the IE container).</summary>
    public bool ValueExtended { get; init; }

    /// <summary>Bytes of the value after the IE container (extension additions), re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte> ValueTail { get; init; }

    /// <summary>For PrivateMessage (not a ProtocolIE-Container) the whole value, re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte>? OpaqueValue { get; init; }

    /// <summary>Bytes after the end of the PDU in the SCTP payload (some senders pad), re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte> PduTrailer { get; init; }

    public abstract string MessageName { get; }

    public byte[] Encode() =>
        ApPdu.Encode(
            new ApPduHeader(Unsafe.BitCast<TPduType, byte>(PduType), Unsafe.BitCast<TProcedureCode, byte>(ProcedureCode), Criticality),
            ProtocolIes, ValueExtended, ValueTail, OpaqueValue, PduTrailer);

    public override string ToString() => $"{MessageName} ({ProtocolIes.Count} IEs)";
}
