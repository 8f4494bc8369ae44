namespace MobiScud.Protocols.Link;

/// <summary>pcap/pcapng LINKTYPE_ values (tcpdump.org/linktypes.html) of the link layers we take apart.</summary>
public enum LinkType : ushort
{
    /// <summary>BSD loopback: a 4-byte address family in the capturing host's byte order.</summary>
    Null = 0,
    Ethernet = 1,

    /// <summary>DLT_RAW as some BSDs number it in live captures.</summary>
    RawBsd12 = 12,
    RawBsd14 = 14,

    /// <summary>OpenBSD loopback: the address family in network byte order.</summary>
    Loop = 108,
    Raw = 101,
    LinuxSll = 113,
    Ipv4 = 228,
    Ipv6 = 229,
    LinuxSll2 = 276,
}

public enum NetworkProtocol : byte
{
    Ipv4 = 4,
    Ipv6 = 6,
}
