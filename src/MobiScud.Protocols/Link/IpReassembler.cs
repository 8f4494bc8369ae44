namespace MobiScud.Protocols.Link;

/// <summary>
/// Reassembles fragmented IPv4/IPv6 payloads (RFC 791/815 style hole tracking in 8-byte units). Bounded: at most
/// <see cref="MaxPending"/> datagrams in flight (the oldest is dropped), each at most 64 KiB.
/// </summary>
public sealed class IpReassembler
{
    private const int MaxPayload = 65535;
    private readonly Dictionary<Key, Pending> _pending = [];
    private readonly Queue<Key> _order = new();
    private byte[] _completed = new byte[MaxPayload];

    public int MaxPending { get; init; } = 256;

    /// <summary>Datagrams evicted before they were complete.</summary>
    public long Dropped { get; private set; }

    /// <summary>
    /// Adds one fragment's payload. When it completes the datagram, returns true with the whole upper-layer payload
    /// (valid until the next call).
    /// </summary>
    public bool TryAdd(IpPacketInfo info, ReadOnlySpan<byte> fragmentPayload, out ReadOnlySpan<byte> payload, out TransportError error)
    {
        payload = default;
        error = TransportError.None;
        var end = info.FragmentOffset + fragmentPayload.Length;
        // Every fragment but the last carries a multiple of 8 bytes; anything else cannot be placed.
        if (end > MaxPayload || (info.MoreFragments && (fragmentPayload.Length & 7) != 0))
        {
            error = TransportError.IpFragmentDropped;
            return false;
        }

        var key = new Key(info.Source, info.Destination, info.FragmentId, info.Protocol);
        if (!_pending.TryGetValue(key, out var pending))
        {
            if (_pending.Count >= MaxPending)
            {
                Evict();
            }

            pending = new Pending();
            _pending[key] = pending;
            _order.Enqueue(key);
        }

        if (end > pending.Buffer.Length)
        {
            Array.Resize(ref pending.Buffer, Math.Min(MaxPayload, Math.Max(end, pending.Buffer.Length * 2)));
        }

        fragmentPayload.CopyTo(pending.Buffer.AsSpan(info.FragmentOffset));
        for (var unit = info.FragmentOffset / 8; unit < (end + 7) / 8; unit++)
        {
            pending.Covered[unit >> 6] |= 1UL << (unit & 63);
        }

        if (!info.MoreFragments)
        {
            pending.TotalLength = end;
        }

        if (pending.TotalLength < 0 || !pending.IsComplete())
        {
            error = TransportError.IpFragment;
            return false;
        }

        _pending.Remove(key);
        pending.Buffer.AsSpan(0, pending.TotalLength).CopyTo(_completed);
        payload = _completed.AsSpan(0, pending.TotalLength);
        return true;
    }

    private void Evict()
    {
        while (_order.TryDequeue(out var oldest))
        {
            if (_pending.Remove(oldest))
            {
                Dropped++;
                return;
            }
        }
    }

    private readonly record struct Key(NetAddress Source, NetAddress Destination, uint Id, byte Protocol);

    private sealed class Pending
    {
        public byte[] Buffer = new byte[2048];
        public ulong[] Covered = new ulong[(MaxPayload / 8 / 64) + 1];
        public int TotalLength = -1;

        public bool IsComplete()
        {
            var units = (TotalLength + 7) / 8;
            for (var unit = 0; unit < units; unit++)
            {
                if ((Covered[unit >> 6] & (1UL << (unit & 63))) == 0)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
