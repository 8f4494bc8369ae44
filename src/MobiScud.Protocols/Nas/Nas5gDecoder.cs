using System.Buffers.Binary;
using System.Text;

namespace MobiScud.Protocols.Nas;

/// <summary>
/// TS 24.501 5G NAS decoder for the messages the UE tracker needs. Plain and integrity-protected messages are decoded;
/// a ciphered one (security header type 2 or 4) is decoded only when the caller knows the ciphering is 5G-EA0 (from the
/// Security Mode Command, <see cref="Nas5gMessage.SelectedCipheringAlgorithm"/>), otherwise it is returned with
/// <see cref="Nas5gMessage.Ciphered"/> set: never guessed. Malformed input throws <see cref="NasDecodeException"/> only.
/// </summary>
public static class Nas5gDecoder
{
    public const byte Epd5gmm = 0x7E;
    public const byte Epd5gsm = 0x2E;

    public static Nas5gMessage Decode(ReadOnlySpan<byte> pdu, bool nullCipheringInUse = false)
    {
        var c = new NasCursor(pdu, 0, pdu.Length, NasError.BadLength);
        var epd = c.Byte();
        if (epd == Epd5gsm)
        {
            return DecodeSm(pdu, 0, pdu.Length);
        }

        if (epd != Epd5gmm)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, 0, $"extended protocol discriminator 0x{epd:x2}");
        }

        var sht = (byte)(c.Byte() & 0x0F);
        if (sht == 0)
        {
            return DecodeMm(pdu, 0, pdu.Length, Nas5gSecurityHeaderType.Plain, nullCipheringInUse);
        }

        if (sht > 4)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, 1, $"reserved security header type {sht}");
        }

        var mac = BinaryPrimitives.ReadUInt32BigEndian(c.Bytes(4));
        var sqn = c.Byte();
        var header = (Nas5gSecurityHeaderType)sht;
        if ((sht == 2 || sht == 4) && !nullCipheringInUse)
        {
            return new Nas5gMessage { SecurityHeaderType = header, Epd = Epd5gmm, Ciphered = true, MessageAuthenticationCode = mac, SequenceNumber = sqn };
        }

        var inner = c.Position < pdu.Length && pdu[c.Position] == Epd5gsm
            ? DecodeSm(pdu, c.Position, pdu.Length)
            : DecodeMm(pdu, c.Position, pdu.Length, header, nullCipheringInUse);
        return inner with { SecurityHeaderType = header, MessageAuthenticationCode = mac, SequenceNumber = sqn };
    }

    private sealed class Identity
    {
        public string? Imsi;
        public bool Concealed;
        public FiveGGuti? Guti;
        public (ushort, byte, uint)? STmsi;
    }

    private static Nas5gMessage DecodeMm(ReadOnlySpan<byte> pdu, int start, int end, Nas5gSecurityHeaderType outer, bool nullCiphering)
    {
        var c = new NasCursor(pdu, start, end, NasError.BadLength);
        var epd = c.Byte();
        if (epd != Epd5gmm)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, start, $"extended protocol discriminator 0x{epd:x2} in a 5GMM message");
        }

        if ((c.Byte() & 0x0F) != 0)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, start + 1, "nested security header");
        }

        var type = c.Byte();
        var id = new Identity();
        byte? regType = null, deregType = null, serviceType = null, cause = null, ciph = null, integ = null;
        Nas5gMessage? inner = null;
        switch (type)
        {
            case Nas5gMessageType.RegistrationRequest:
                regType = (byte)(c.Byte() & 0x07);
                ReadMobileIdentity(c.LvE(), c.Position, id);
                inner = OptionalIes(ref c, pdu, nullCiphering);
                break;
            case Nas5gMessageType.RegistrationAccept:
                c.Lv(); // 5GS registration result
                if (c.Position < end && pdu[c.Position] == 0x77)
                {
                    c.Byte();
                    ReadMobileIdentity(c.LvE(), c.Position, id);
                }

                break;
            case Nas5gMessageType.RegistrationReject:
            case Nas5gMessageType.ServiceReject:
                cause = c.Byte();
                break;
            case Nas5gMessageType.ServiceRequest:
                serviceType = (byte)(c.Byte() & 0x0F);
                ReadMobileIdentity(c.LvE(), c.Position, id);
                inner = OptionalIes(ref c, pdu, nullCiphering);
                break;
            case Nas5gMessageType.DeregistrationRequestUeOriginating:
                deregType = (byte)(c.Byte() & 0x0F);
                ReadMobileIdentity(c.LvE(), c.Position, id);
                break;
            case Nas5gMessageType.DeregistrationRequestUeTerminated:
                deregType = (byte)(c.Byte() & 0x0F);
                break;
            case Nas5gMessageType.IdentityResponse:
                ReadMobileIdentity(c.LvE(), c.Position, id);
                break;
            case Nas5gMessageType.SecurityModeCommand:
                {
                    var algs = c.Byte();
                    ciph = (byte)(algs >> 4);
                    integ = (byte)(algs & 0x0F);
                    break;
                }

            case Nas5gMessageType.SecurityModeComplete:
                inner = OptionalIes(ref c, pdu, nullCiphering);
                break;
            case Nas5gMessageType.UlNasTransport:
            case Nas5gMessageType.DlNasTransport:
                {
                    var containerType = (byte)(c.Byte() & 0x0F);
                    var payload = c.LvE();
                    if (containerType == 1 && payload.Length > 0)
                    {
                        // N1 SM information: a plain 5GSM message.
                        inner = DecodeSm(pdu, c.Position - payload.Length, c.Position);
                    }

                    break;
                }
        }

        return new Nas5gMessage
        {
            SecurityHeaderType = outer,
            Epd = Epd5gmm,
            MessageType = type,
            Imsi = id.Imsi,
            ConcealedSuci = id.Concealed,
            Guti = id.Guti,
            STmsi = id.STmsi,
            RegistrationType = regType,
            DeregistrationType = deregType,
            ServiceType = serviceType,
            Cause = cause,
            SelectedCipheringAlgorithm = ciph,
            SelectedIntegrityAlgorithm = integ,
            Inner = inner,
        };
    }

    /// <summary>
    /// Walks the optional IEs of a 5GMM message (TS 24.501 formats: IEI 0x8X..0xFX one octet, 0x7X TLV-E, 0x52 last
    /// visited TAI TV of 7 octets, others TLV) and decodes a NAS message container (0x71) it finds.
    /// </summary>
    private static Nas5gMessage? OptionalIes(ref NasCursor c, ReadOnlySpan<byte> pdu, bool nullCiphering)
    {
        Nas5gMessage? inner = null;
        while (!c.AtEnd)
        {
            var iei = c.Byte();
            if (iei >= 0x80)
            {
                continue;
            }

            if ((iei & 0xF0) == 0x70)
            {
                var v = c.LvE();
                if (iei == 0x71 && v.Length > 0)
                {
                    var at = c.Position - v.Length;
                    inner = pdu[at] == Epd5gmm && v.Length >= 3 && (pdu[at + 1] & 0x0F) == 0
                        ? DecodeMm(pdu, at, c.Position, Nas5gSecurityHeaderType.Plain, nullCiphering)
                        : null;
                }

                continue;
            }

            if (iei == 0x52)
            {
                c.Bytes(6);
                continue;
            }

            c.Lv();
        }

        return inner;
    }

    private static Nas5gMessage DecodeSm(ReadOnlySpan<byte> pdu, int start, int end)
    {
        var c = new NasCursor(pdu, start, end, NasError.BadLength);
        var epd = c.Byte();
        if (epd != Epd5gsm)
        {
            throw new NasDecodeException(NasError.UnknownProtocol, start, $"extended protocol discriminator 0x{epd:x2} in a 5GSM message");
        }

        var psi = c.Byte();
        c.Byte(); // PTI
        var type = c.Byte();
        Nas5gPduAddress? address = null;
        byte? cause = null;
        if (type == Nas5gMessageType.PduSessionEstablishmentAccept)
        {
            c.Byte(); // selected SSC mode + PDU session type
            c.LvE(); // authorized QoS rules
            c.Lv(); // session AMBR
            while (!c.AtEnd && address is null)
            {
                var iei = c.Byte();
                if (iei >= 0x80)
                {
                    continue;
                }

                if (iei is 0x59 or 0x56)
                {
                    var v = c.Byte(); // 5GSM cause / RQ timer: TV of 2 octets
                    if (iei == 0x59)
                    {
                        cause = v;
                    }

                    continue;
                }

                if ((iei & 0xF0) == 0x70)
                {
                    c.LvE();
                    continue;
                }

                var value = c.Lv();
                if (iei == 0x29)
                {
                    address = PduAddress(value, c.Position - value.Length);
                }
            }
        }
        else if (type is Nas5gMessageType.PduSessionEstablishmentReject or Nas5gMessageType.PduSessionReleaseCommand)
        {
            cause = c.Byte();
        }

        return new Nas5gMessage { Epd = Epd5gsm, MessageType = type, PduSessionId = psi, PduAddress = address, Cause = cause };
    }

    private static Nas5gPduAddress PduAddress(ReadOnlySpan<byte> v, int at)
    {
        var (type, ipv4, iid) = NasIpAddress.Read(v, at, "PDU address");
        return new Nas5gPduAddress(type, ipv4, iid);
    }

    /// <summary>5GS mobile identity (TS 24.501 9.11.3.4): SUCI, 5G-GUTI or 5G-S-TMSI (others are ignored).</summary>
    private static void ReadMobileIdentity(ReadOnlySpan<byte> v, int at, Identity into)
    {
        if (v.Length == 0)
        {
            return;
        }

        switch (v[0] & 0x07)
        {
            case 1:
                {
                    var supiFormat = (v[0] >> 4) & 0x07;
                    if (supiFormat != 0)
                    {
                        into.Concealed = true; // network specific identifier: not an IMSI
                        return;
                    }

                    if (v.Length < 8)
                    {
                        throw new NasDecodeException(NasError.BadLength, at, $"SUCI of {v.Length} octets");
                    }

                    var scheme = v[6] & 0x0F;
                    if (scheme != 0)
                    {
                        into.Concealed = true;
                        return;
                    }

                    var sb = new StringBuilder(15);
                    sb.Append(Digit(v[1] & 0x0F)).Append(Digit(v[1] >> 4)).Append(Digit(v[2] & 0x0F));
                    sb.Append(Digit(v[3] & 0x0F)).Append(Digit(v[3] >> 4));
                    if ((v[2] >> 4) != 0x0F)
                    {
                        sb.Append(Digit(v[2] >> 4));
                    }

                    foreach (var b in v[8..])
                    {
                        sb.Append(Digit(b & 0x0F));
                        if ((b >> 4) != 0x0F)
                        {
                            sb.Append(Digit(b >> 4));
                        }
                    }

                    into.Imsi = sb.ToString();
                    return;
                }

            case 2:
                if (v.Length < 11)
                {
                    throw new NasDecodeException(NasError.BadLength, at, $"5G-GUTI of {v.Length} octets");
                }

                into.Guti = new FiveGGuti(v[1], v[2], v[3], v[4], (ushort)((v[5] << 2) | (v[6] >> 6)), (byte)(v[6] & 0x3F), BinaryPrimitives.ReadUInt32BigEndian(v[7..]));
                return;
            case 4:
                if (v.Length < 7)
                {
                    throw new NasDecodeException(NasError.BadLength, at, $"5G-S-TMSI of {v.Length} octets");
                }

                into.STmsi = ((ushort)((v[1] << 2) | (v[2] >> 6)), (byte)(v[2] & 0x3F), BinaryPrimitives.ReadUInt32BigEndian(v[3..]));
                return;
        }
    }

    private static char Digit(int d) => d <= 9 ? (char)('0' + d) : '?';
}
