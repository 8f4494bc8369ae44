using System.Buffers.Binary;
using System.Net;

namespace MobiScud.Testbed.Emulation;

/// <summary>Plain NAS messages (TS 24.301, security header type 0 unless stated) the emulated UE and MME exchange.</summary>
internal static class NasMessages
{
    /// <summary>Attach Request with the IMSI and a PDN Connectivity Request for IPv4.</summary>
    public static byte[] AttachRequest(string imsi)
    {
        var esm = new byte[] { 0x02, 0x01, 0xD0, 0x11 };
        var id = ImsiIdentity(imsi);
        var m = new List<byte> { 0x07, 0x41, 0x71, (byte)id.Length };
        m.AddRange(id);
        m.AddRange([0x02, 0xE0, 0xE0]); // UE network capability: EEA0-2, EIA0-2
        m.Add((byte)(esm.Length >> 8));
        m.Add((byte)esm.Length);
        m.AddRange(esm);
        return [.. m];
    }

    /// <summary>
    /// Attach Accept carrying Activate Default EPS Bearer Context Request with the UE's IPv4 address, and a GUTI
    /// whose MME code and M-TMSI form the S-TMSI the UE later uses in Service Request.
    /// </summary>
    public static byte[] AttachAccept(IPAddress ueAddress, byte mmeCode, uint mTmsi, byte[] plmn)
    {
        var apn = "\x08internet"u8.ToArray();
        var esm = new List<byte> { 0x52, 0x01, 0xC1, 0x01, 0x09, (byte)apn.Length };
        esm.AddRange(apn);
        esm.Add(5);
        esm.Add(0x01);
        esm.AddRange(ueAddress.GetAddressBytes());
        var m = new List<byte> { 0x07, 0x42, 0x01, 0x21, 0x06, 0x00 };
        m.AddRange(plmn);
        m.AddRange([0x00, (byte)S1apMessages.Tac]);
        m.Add((byte)(esm.Count >> 8));
        m.Add((byte)esm.Count);
        m.AddRange(esm);

        // GUTI (IEI 0x50): type 6 with 0xF0, PLMN, MME group id, MME code, M-TMSI.
        m.AddRange([0x50, 0x0B, 0xF6]);
        m.AddRange(plmn);
        m.AddRange([0x80, 0x01, mmeCode]);
        Span<byte> t = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(t, mTmsi);
        m.AddRange(t.ToArray());
        return [.. m];
    }

    /// <summary>Service Request (security header type 12): KSI and sequence number, short MAC.</summary>
    public static byte[] ServiceRequest(byte sequence) => [0xC7, (byte)(sequence & 0x1F), 0x00, 0x00];

    private static byte[] ImsiIdentity(string imsi)
    {
        // Mobile identity: first digit + odd/even flag + type 1 (IMSI), then BCD pairs, 0xF filler when even.
        var digits = imsi.Select(c => c - '0').ToArray();
        var odd = digits.Length % 2 == 1;
        var bytes = new List<byte> { (byte)((digits[0] << 4) | (odd ? 0x08 : 0) | 0x01) };
        for (var i = 1; i < digits.Length; i += 2)
        {
            var hi = i + 1 < digits.Length ? digits[i + 1] : 0xF;
            bytes.Add((byte)((hi << 4) | digits[i]));
        }

        return [.. bytes];
    }
}
