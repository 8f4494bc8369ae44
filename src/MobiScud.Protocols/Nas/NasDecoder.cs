using System.Buffers.Binary;
using System.Text;

namespace MobiScud.Protocols.Nas;

/// <summary>
/// TS 24.301 EPS NAS decoder for the messages the UE tracker needs. Plain and integrity-protected messages
/// are decoded; a ciphered one (security header type 2 or 4) is decoded only when the caller knows the
/// ciphering is EEA0 (from the Security Mode Command, <see cref="NasMessage.SelectedCipheringAlgorithm"/>),
/// otherwise it is returned with <see cref="NasMessage.Ciphered"/> set: never guessed.
/// Malformed input throws <see cref="NasDecodeException"/> only.
/// </summary>
public static class NasDecoder
{
    private const byte Emm = 7;
    private const byte Esm = 2;

    public static NasMessage Decode(ReadOnlySpan<byte> pdu, bool nullCipheringInUse = false)
    {
        var c = new NasCursor(pdu, 0, pdu.Length, NasError.Truncated);
        var b0 = c.Byte();
        var pd = (byte)(b0 & 0x0F);
        var sht = (byte)(b0 >> 4);
        if (pd == Emm && sht != 0)
        {
            if (sht == 12)
            {
                // SERVICE REQUEST: KSI + sequence number, short MAC.
                c.Byte();
                c.Bytes(2);
                return new NasMessage
                {
                    SecurityHeaderType = NasSecurityHeaderType.ServiceRequest,
                    ProtocolDiscriminator = Emm,
                    MessageType = NasMessageType.ServiceRequest,
                };
            }

            if (sht > 4)
            {
                throw new NasDecodeException(NasError.UnknownProtocol, 0, $"reserved security header type {sht}");
            }

            var mac = BinaryPrimitives.ReadUInt32BigEndian(c.Bytes(4));
            var sqn = c.Byte();
            var header = (NasSecurityHeaderType)sht;
            if ((sht == 2 || sht == 4) && !nullCipheringInUse)
            {
                return new NasMessage
                {
                    SecurityHeaderType = header,
                    ProtocolDiscriminator = Emm,
                    Ciphered = true,
                    MessageAuthenticationCode = mac,
                    SequenceNumber = sqn,
                };
            }

            // The inner message already carries the header type; the security header adds MAC and sequence number.
            return DecodePlain(pdu, c.Position, header) with { MessageAuthenticationCode = mac, SequenceNumber = sqn };
        }

        return DecodePlain(pdu, 0, NasSecurityHeaderType.Plain);
    }

    private static NasMessage DecodePlain(ReadOnlySpan<byte> pdu, int start, NasSecurityHeaderType outer)
    {
        var c = new NasCursor(pdu, start, pdu.Length, NasError.Truncated);
        var b0 = c.Byte();
        var pd = (byte)(b0 & 0x0F);
        if (pd == Esm)
        {
            return DecodeEsm(pdu, start, outer);
        }

        if (pd != Emm)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, start, $"protocol discriminator {pd}");
        }

        if ((b0 >> 4) != 0)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, start, "nested security header");
        }

        var type = c.Byte();
        string? imsi = null;
        Guti? guti = null;
        uint? mtmsi = null;
        byte? cause = null;
        byte? ciph = null, integ = null;
        NasMessage? esm = null;
        switch (type)
        {
            case NasMessageType.AttachRequest:
                c.Byte();
                Identity(c.Lv(), ref imsi, ref guti, ref mtmsi, c.Position);
                c.Lv(); // UE network capability
                esm = EsmContainer(ref c, outer);
                break;
            case NasMessageType.AttachAccept:
                c.Byte();
                c.Byte(); // T3412
                c.Lv(); // TAI list
                esm = EsmContainer(ref c, outer);
                guti = OptionalGuti(ref c);
                break;
            case NasMessageType.AttachComplete:
                esm = EsmContainer(ref c, outer);
                break;
            case NasMessageType.AttachReject:
            case NasMessageType.TrackingAreaUpdateReject:
            case NasMessageType.ServiceReject:
                cause = c.Byte();
                break;
            case NasMessageType.DetachRequest:
                c.Byte();
                if (c.Remaining > 0 && c.Peek() != 0x53)
                {
                    Identity(c.Lv(), ref imsi, ref guti, ref mtmsi, c.Position); // UE-originated form
                }
                else if (c.Remaining >= 2)
                {
                    c.Byte();
                    cause = c.Byte();
                }

                break;
            case NasMessageType.TrackingAreaUpdateRequest:
            case NasMessageType.ExtendedServiceRequest:
                c.Byte();
                Identity(c.Lv(), ref imsi, ref guti, ref mtmsi, c.Position);
                break;
            case NasMessageType.TrackingAreaUpdateAccept:
                c.Byte();
                guti = OptionalGuti(ref c);
                break;
            case NasMessageType.IdentityResponse:
                Identity(c.Lv(), ref imsi, ref guti, ref mtmsi, c.Position);
                break;
            case NasMessageType.SecurityModeCommand:
                {
                    var alg = c.Byte();
                    ciph = (byte)((alg >> 4) & 0x7);
                    integ = (byte)(alg & 0x7);
                    break;
                }
        }

        return new NasMessage
        {
            SecurityHeaderType = outer,
            ProtocolDiscriminator = Emm,
            MessageType = type,
            Imsi = imsi,
            Guti = guti,
            MTmsi = mtmsi ?? guti?.MTmsi,
            EmmCause = cause,
            SelectedCipheringAlgorithm = ciph,
            SelectedIntegrityAlgorithm = integ,
            EsmMessage = esm,
        };
    }

    private static NasMessage? EsmContainer(ref NasCursor c, NasSecurityHeaderType outer)
    {
        var start = c.Position;
        var len = c.UInt16();
        var content = c.Bytes(len);
        if (content.IsEmpty)
        {
            return null;
        }

        // Decode against the whole buffer so error offsets stay absolute.
        return DecodeEsm(c.Buffer[..(start + 2 + len)], start + 2, outer);
    }

    private static NasMessage DecodeEsm(ReadOnlySpan<byte> pdu, int start, NasSecurityHeaderType outer)
    {
        var c = new NasCursor(pdu, start, pdu.Length, NasError.Truncated);
        var b0 = c.Byte();
        if ((b0 & 0x0F) != Esm)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, start, $"ESM container holds protocol {b0 & 0x0F}");
        }

        var ebi = (byte)(b0 >> 4);
        c.Byte(); // PTI
        var type = c.Byte();
        NasPdnAddress? pdn = null;
        string? apn = null;
        if (type == NasMessageType.ActivateDefaultEpsBearerContextRequest)
        {
            c.Lv(); // EPS QoS
            apn = Apn(c.Lv());
            pdn = PdnAddress(c.Lv(), c.Position);
        }

        return new NasMessage
        {
            SecurityHeaderType = outer,
            ProtocolDiscriminator = Esm,
            MessageType = type,
            EpsBearerId = ebi,
            PdnAddress = pdn,
            AccessPointName = apn,
        };
    }

    private static NasPdnAddress PdnAddress(ReadOnlySpan<byte> v, int at)
    {
        var (type, ipv4, iid) = NasIpAddress.Read(v, at, "PDN address");
        return new NasPdnAddress(type, ipv4, iid);
    }

    private static string Apn(ReadOnlySpan<byte> v)
    {
        var sb = new StringBuilder(v.Length);
        var i = 0;
        while (i < v.Length)
        {
            var n = v[i++];
            var take = Math.Min(n, v.Length - i);
            if (sb.Length > 0)
            {
                sb.Append('.');
            }

            foreach (var ch in v.Slice(i, take))
            {
                sb.Append(ch is >= 0x20 and < 0x7F ? (char)ch : '?');
            }

            i += take;
        }

        return sb.ToString();
    }

    private static void Identity(ReadOnlySpan<byte> v, ref string? imsi, ref Guti? guti, ref uint? mtmsi, int at)
    {
        if (v.Length < 1)
        {
            throw new NasDecodeException(NasError.BadLength, at, "empty mobile identity");
        }

        switch (v[0] & 0x7)
        {
            case 1:
                {
                    var sb = new StringBuilder(16);
                    sb.Append(Digit(v[0] >> 4));
                    for (var i = 1; i < v.Length; i++)
                    {
                        sb.Append(Digit(v[i] & 0xF));
                        if ((v[i] >> 4) != 0xF)
                        {
                            sb.Append(Digit(v[i] >> 4));
                        }
                    }

                    imsi = sb.ToString();
                    break;
                }

            case 6:
                if (v.Length < 11)
                {
                    throw new NasDecodeException(NasError.BadLength, at, $"GUTI of {v.Length} octets");
                }

                guti = new Guti(v[1], v[2], v[3], BinaryPrimitives.ReadUInt16BigEndian(v.Slice(4, 2)), v[6], BinaryPrimitives.ReadUInt32BigEndian(v.Slice(7, 4)));
                break;
            case 4:
                if (v.Length < 5)
                {
                    throw new NasDecodeException(NasError.BadLength, at, $"TMSI of {v.Length} octets");
                }

                mtmsi = BinaryPrimitives.ReadUInt32BigEndian(v.Slice(1, 4));
                break;
        }
    }

    private static char Digit(int d) => d <= 9 ? (char)('0' + d) : (char)('a' + d - 10);

    // Scans the optional IEs of Attach Accept / TAU Accept for the GUTI (IEI 0x50).
    private static Guti? OptionalGuti(ref NasCursor c)
    {
        while (c.Remaining > 0)
        {
            var iei = c.Byte();
            if (iei >= 0x80)
            {
                continue; // type 1: half-octet IEI + value
            }

            switch (iei)
            {
                case 0x13:
                    c.Bytes(5); // LAI
                    continue;
                case 0x53 or 0x17 or 0x59 or 0x5A:
                    c.Byte(); // EMM cause, T3402, T3423, T3412
                    continue;
                case >= 0x70 and <= 0x7F:
                    c.Bytes(c.UInt16()); // TLV-E
                    continue;
            }

            var value = c.Lv();
            if (iei == 0x50)
            {
                string? imsi = null;
                Guti? guti = null;
                uint? tmsi = null;
                Identity(value, ref imsi, ref guti, ref tmsi, c.Position);
                return guti;
            }
        }

        return null;
    }
}
