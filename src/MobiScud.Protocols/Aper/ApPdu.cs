using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Aper;

/// <summary>The header of an S1AP-PDU or NGAP-PDU: which outcome, the procedure code and its criticality.</summary>
internal readonly record struct ApPduHeader(int PduType, byte ProcedureCode, Criticality Criticality);

/// <summary>A PDU taken apart for editing: the header, the IE fields (values kept as bytes) and what surrounds them.</summary>
internal sealed record ApPduParts<TField>(ApPduHeader Header, List<TField> Fields, bool ValueExtended, ReadOnlyMemory<byte> ValueTail, ReadOnlyMemory<byte>? OpaqueValue, ReadOnlyMemory<byte> PduTrailer);

/// <summary>
/// What S1AP (TS 36.413 9.3.2) and NGAP (TS 38.413 9.4.2) PDUs share: CHOICE { initiatingMessage, successfulOutcome,
/// unsuccessfulOutcome, ... } of SEQUENCE { procedureCode, criticality, value open type }, the value being a SEQUENCE
/// with a ProtocolIE-Container (except PrivateMessage's PrivateIE-Container, kept opaque).
/// </summary>
internal static class ApPdu
{
    /// <summary>Reads the header; returns the value open type's (offset, length) within <paramref name="pdu"/>.</summary>
    public static (int Offset, int Length) ReadHeader(ReadOnlySpan<byte> pdu, string protocol, out ApPduHeader header)
    {
        var r = new AperReader(pdu);
        var index = ReadPduType(ref r, protocol);
        header = new ApPduHeader(index, (byte)r.ReadConstrainedWholeNumber(0, 255), (Criticality)r.ReadEnumerated(3, false));
        return r.ReadOpenTypeRange();
    }

    /// <summary>Takes a PDU apart, keeping every IE value as bytes of one copy of <paramref name="pdu"/>.</summary>
    public static ApPduParts<TField> Decode<TField>(ReadOnlySpan<byte> pdu, string protocol, byte privateMessage, Func<ushort, Criticality, ReadOnlyMemory<byte>, TField> field)
    {
        var copy = pdu.ToArray();
        var r = new AperReader(copy);
        var header = new ApPduHeader(ReadPduType(ref r, protocol), (byte)r.ReadConstrainedWholeNumber(0, 255), (Criticality)r.ReadEnumerated(3, false));
        var valueSpan = r.ReadOpenType();
        var trailer = copy.AsMemory(r.ByteOffset);
        var value = ((ReadOnlySpan<byte>)copy).Overlaps(valueSpan, out var off)
            ? copy.AsMemory(off, valueSpan.Length)
            : valueSpan.ToArray(); // fragmented (over 16K): reassembled copy
        if (header.ProcedureCode == privateMessage)
        {
            return new ApPduParts<TField>(header, [], false, default, value, trailer);
        }

        var v = new AperReader(value.Span);
        var extended = v.ReadBit();
        var count = v.ReadConstrainedLength(0, ProtocolIeContainer.MaxProtocolIes);
        var fields = new List<TField>(Math.Min(count, (v.RemainingBits / 24) + 1));
        for (var i = 0; i < count; i++)
        {
            var id = (ushort)v.ReadConstrainedWholeNumber(0, 65535);
            var c = (Criticality)v.ReadEnumerated(3, false);
            var (o, l) = v.ReadOpenTypeRange();
            fields.Add(field(id, c, value.Slice(o, l)));
        }

        if (!v.IsAligned)
        {
            v.Align();
        }

        return new ApPduParts<TField>(header, fields, extended, value[v.ByteOffset..], null, trailer);
    }

    /// <summary>Builds a PDU in one buffer; a decoded PDU gives back its bytes (canonical APER input).</summary>
    public static byte[] Encode<TField>(ApPduHeader header, IReadOnlyList<TField> fields, bool valueExtended, ReadOnlyMemory<byte> valueTail, ReadOnlyMemory<byte>? opaqueValue, ReadOnlyMemory<byte> pduTrailer)
        where TField : ProtocolIeField
    {
        var w = new AperWriter(256);
        w.WriteChoiceIndex(header.PduType, 3, true);
        w.WriteConstrainedWholeNumber(header.ProcedureCode, 0, 255);
        w.WriteEnumerated((int)header.Criticality, 3, false);
        if (opaqueValue is { } opaque)
        {
            w.WriteOpenType(opaque.Span);
        }
        else
        {
            using var value = w.PushOpenType();
            ProtocolIeContainer.Write(w, valueExtended, fields, valueTail.Span);
        }

        if (!pduTrailer.IsEmpty)
        {
            w.WriteAlignedOctets(pduTrailer.Span);
        }

        return w.ToArray();
    }

    private static int ReadPduType(ref AperReader r, string protocol)
    {
        var index = r.ReadChoiceIndex(3, true, out var ext);
        if (ext)
        {
            r.Throw(AperError.Unsupported, $"{protocol}-PDU extension alternative {index}");
        }

        return index;
    }
}
