using System.Collections.Frozen;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Aper;

/// <summary>Reads one IE's value (a reader over its open-type content) into <paramref name="target"/>.</summary>
internal delegate void IeReader<in TTarget>(ref AperReader value, ushort id, TTarget target);

/// <summary>Reads one item of a SEQUENCE OF ProtocolIE-SingleContainer (a reader over its open-type content).</summary>
internal delegate void SingleContainerReader<TState>(ref AperReader value, ushort id, ref TState state);

/// <summary>
/// The protocol-IE machinery S1AP (TS 36.413 9.3.7) and NGAP (TS 38.413 9.4.7) share: a ProtocolIE-Container is
/// SEQUENCE OF { id, criticality, value open type }. Reading walks the fields and hands each one whose id is in a
/// (IE id -> reader) table to its reader; the others are skipped by their open-type length. Writing builds fields in
/// place with back-patched lengths (<see cref="AperWriter.PushOpenType"/>).
/// </summary>
internal static class ProtocolIeContainer
{
    public const int MaxProtocolIes = 65535;

    /// <summary>Freezes a (IE id -> reader) table; a duplicate id fails here, at type initialisation.</summary>
    public static FrozenDictionary<ushort, IeReader<TTarget>> Table<TTarget>(params ReadOnlySpan<(ushort Id, IeReader<TTarget> Reader)> entries)
    {
        var table = new Dictionary<ushort, IeReader<TTarget>>(entries.Length);
        foreach (var (id, reader) in entries)
        {
            if (!table.TryAdd(id, reader))
            {
                throw new InvalidOperationException($"IE id {id} appears twice in an IE table");
            }
        }

        return table.ToFrozenDictionary();
    }

    /// <summary>
    /// A message value: the SEQUENCE's extension bit and its ProtocolIE-Container, each known field read by the table.
    /// Returns the number of fields.
    /// </summary>
    public static int Read<TTarget>(ReadOnlySpan<byte> buffer, int offset, int length, FrozenDictionary<ushort, IeReader<TTarget>> table, TTarget target)
    {
        var r = new AperReader(buffer, offset, offset + length);
        r.ReadBit(); // extension bit of the message SEQUENCE
        var count = r.ReadConstrainedLength(0, MaxProtocolIes);
        for (var i = 0; i < count; i++)
        {
            var id = (ushort)r.ReadConstrainedWholeNumber(0, 65535);
            r.ReadEnumerated(3, false);
            var (off, len) = r.ReadOpenTypeRange();
            if (table.TryGetValue(id, out var reader))
            {
                var value = new AperReader(buffer, off, off + len);
                reader(ref value, id, target);
            }
        }

        return count;
    }

    /// <summary>A ProtocolIE-Container inside a value (a transfer container): every field to <paramref name="read"/>.</summary>
    public static void ReadContainer<TState>(ref AperReader r, SingleContainerReader<TState> read, ref TState state)
    {
        r.ReadBit(); // extension bit of the enclosing SEQUENCE
        var count = r.ReadConstrainedLength(0, MaxProtocolIes);
        for (var i = 0; i < count; i++)
        {
            var id = (ushort)r.ReadConstrainedWholeNumber(0, 65535);
            r.ReadEnumerated(3, false);
            var (off, len) = r.ReadOpenTypeRange();
            var value = new AperReader(r.Buffer, off, off + len);
            read(ref value, id, ref state);
        }
    }

    /// <summary>SEQUENCE (SIZE(1..<paramref name="max"/>)) OF ProtocolIE-SingleContainer: every item to <paramref name="read"/>.</summary>
    public static void ReadSingleContainers<TState>(ref AperReader r, int max, SingleContainerReader<TState> read, ref TState state)
    {
        var count = r.ReadConstrainedLength(1, max);
        for (var i = 0; i < count; i++)
        {
            var id = (ushort)r.ReadConstrainedWholeNumber(0, 65535);
            r.ReadBits(2); // criticality: not used, and an out-of-range 3 does not cost the list its items
            var (off, len) = r.ReadOpenTypeRange();
            var item = new AperReader(r.Buffer, off, off + len);
            read(ref item, id, ref state);
        }
    }

    /// <summary>A message value: extension bit, the fields (values as kept) and any extension additions after them.</summary>
    public static void Write<TField>(AperWriter w, bool extended, IReadOnlyList<TField> fields, ReadOnlySpan<byte> tail)
        where TField : ProtocolIeField
    {
        w.WriteBit(extended);
        w.WriteConstrainedLength(fields.Count, 0, MaxProtocolIes);
        for (var i = 0; i < fields.Count; i++)
        {
            WriteField(w, fields[i].Id, fields[i].Criticality, fields[i].Value.Span);
        }

        if (!tail.IsEmpty)
        {
            w.WriteAlignedOctets(tail);
        }
    }

    /// <summary>One ProtocolIE-Field (or SingleContainer) whose value is already encoded.</summary>
    public static void WriteField(AperWriter w, ushort id, Criticality criticality, ReadOnlySpan<byte> value)
    {
        WriteFieldHeader(w, id, criticality);
        w.WriteOpenType(value);
    }

    /// <summary>One ProtocolIE-Field whose value the caller writes next, into the same buffer; dispose to close it.</summary>
    public static AperWriter.OpenTypeScope PushField(AperWriter w, ushort id, Criticality criticality)
    {
        WriteFieldHeader(w, id, criticality);
        return w.PushOpenType();
    }

    private static void WriteFieldHeader(AperWriter w, ushort id, Criticality criticality)
    {
        w.WriteConstrainedWholeNumber(id, 0, 65535);
        w.WriteEnumerated((int)criticality, 3, false);
    }
}
