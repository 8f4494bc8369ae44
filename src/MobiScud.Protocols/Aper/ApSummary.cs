using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Aper;

/// <summary>
/// What the MC needs from one S1AP or NGAP PDU (<see cref="S1apSummary"/>, <see cref="Ngap.NgapSummary"/>): the
/// header, the IE count, the NAS-PDU and the protocol's own fields, filled by <c>Decode</c> with the protocol's IE
/// table. Reusable: decoding into the same instance again allocates nothing once its buffers have grown.
/// Offsets are relative to <see cref="Pdu"/>, a copy of the decoded bytes owned by this instance.
/// </summary>
public abstract class ApSummary<TPduType, TProcedureCode>
    where TPduType : struct, Enum
    where TProcedureCode : struct, Enum
{
    private byte[] _pdu = new byte[256];
    private int _pduLength;
    private ApPduHeader _header;

    private protected ApSummary()
    {
    }

    public ReadOnlySpan<byte> Pdu => _pdu.AsSpan(0, _pduLength);

    public TPduType PduType => Unsafe.BitCast<byte, TPduType>((byte)_header.PduType);

    public TProcedureCode ProcedureCode => Unsafe.BitCast<byte, TProcedureCode>(_header.ProcedureCode);

    public Criticality Criticality => _header.Criticality;

    /// <summary>Number of IEs in the message's ProtocolIE-Container.</summary>
    public int IeCount { get; internal set; }

    /// <summary>Reset / NGReset: true when the whole S1 or NG interface is reset (all UEs of the node pair).</summary>
    public bool ResetAll { get; internal set; }

    internal int NasOffset { get; set; }

    internal int NasLength { get; set; } = -1;

    public bool HasNasPdu => NasLength >= 0;

    /// <summary>The message's NAS-PDU IE, empty when absent (see <see cref="HasNasPdu"/>).</summary>
    public ReadOnlySpan<byte> NasPdu => Slice(NasOffset, NasLength);

    /// <summary>Bytes of <see cref="Pdu"/> at a decoded (offset, length); empty for length -1 (absent).</summary>
    private protected ReadOnlySpan<byte> Slice(int offset, int length) => length < 0 ? default : Pdu.Slice(offset, length);

    /// <summary>
    /// Decodes <paramref name="pdu"/> into this summary: the header, then each IE of the ProtocolIE-Container that the
    /// protocol's table knows (PrivateMessage's PrivateIE-Container holds nothing the MC uses).
    /// </summary>
    internal void Decode<TSummary>(ReadOnlySpan<byte> pdu, ApSummaryProtocol<TSummary> protocol)
        where TSummary : ApSummary<TPduType, TProcedureCode>
    {
        Reset(pdu);
        var buf = Pdu;
        var (valueOffset, valueLength) = ApPdu.ReadHeader(buf, protocol.Name, out var header);
        _header = header;
        if (header.ProcedureCode != protocol.PrivateMessage)
        {
            IeCount = ProtocolIeContainer.Read(buf, valueOffset, valueLength, protocol.Ies, (TSummary)this);
        }
    }

    /// <summary>Copies <paramref name="pdu"/> in and clears every field, the protocol's through <see cref="ClearFields"/>.</summary>
    private void Reset(ReadOnlySpan<byte> pdu)
    {
        if (_pdu.Length < pdu.Length)
        {
            _pdu = new byte[Math.Max(pdu.Length, _pdu.Length * 2)];
        }

        pdu.CopyTo(_pdu);
        _pduLength = pdu.Length;
        IeCount = 0;
        ResetAll = false;
        NasOffset = 0;
        NasLength = -1;
        ClearFields();
    }

    /// <summary>Clears the protocol's own fields before a decode.</summary>
    private protected abstract void ClearFields();
}

/// <summary>An S1AP or NGAP fast path's constants: the protocol's name (for errors), PrivateMessage's code and its IE table.</summary>
internal sealed record ApSummaryProtocol<TSummary>(string Name, byte PrivateMessage, FrozenDictionary<ushort, IeReader<TSummary>> Ies);
