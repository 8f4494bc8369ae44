using MobiScud.Protocols.Link;

namespace MobiScud.Protocols.Sctp;

public enum SctpDataResult : byte
{
    /// <summary>A whole user message is returned.</summary>
    Delivered,

    /// <summary>A fragment was stored; the message is not complete yet.</summary>
    Buffered,

    /// <summary>The TSN was seen before (retransmission): ignored.</summary>
    Duplicate,

    /// <summary>A middle/end fragment without its predecessor (or a beginning that abandons an unfinished message).</summary>
    OutOfOrderFragment,

    /// <summary>The message grew beyond <see cref="SctpReassembler.MaxMessageSize"/>: dropped.</summary>
    TooLarge,
}

/// <summary>
/// Reassembles SCTP user messages from DATA chunks (B/E fragments, RFC 4960 6.9) per association, direction and stream
/// (unordered messages separately), and drops retransmitted TSNs. State is bounded in size and count.
/// </summary>
public sealed class SctpReassembler
{
    private readonly Dictionary<(SctpAssociationKey Key, SctpDirection Direction), DirectionState> _directions = [];

    public int MaxMessageSize { get; init; } = 1 << 20;

    /// <summary>When this many association directions are tracked, state is dropped and rebuilt (bounded memory on hostile input).</summary>
    public int MaxDirections { get; init; } = 100_000;

    public int TrackedDirections => _directions.Count;

    /// <summary>An INIT or INIT-ACK starts (or restarts) the sender's TSN space: forget what that direction sent before.</summary>
    public void Restart(in SctpAssociationKey key, SctpDirection direction) => _directions.Remove((key, direction));

    /// <summary>
    /// Feeds one DATA chunk. On <see cref="SctpDataResult.Delivered"/>, <paramref name="message"/> is the user message,
    /// valid until the next call for the same stream. A changed <paramref name="verificationTag"/> means a new
    /// association on the same addresses and ports.
    /// </summary>
    public SctpDataResult Accept(in SctpAssociationKey key, SctpDirection direction, uint verificationTag, in SctpDataChunk chunk, out ReadOnlySpan<byte> message)
    {
        message = default;
        if (_directions.TryGetValue((key, direction), out DirectionState? state) && state.VerificationTag != verificationTag)
        {
            _directions.Remove((key, direction));
            state = null;
        }

        if (state is null)
        {
            if (_directions.Count >= MaxDirections)
            {
                _directions.Clear();
            }

            state = new DirectionState { VerificationTag = verificationTag };
            _directions[(key, direction)] = state;
        }

        if (!state.Tsns.Add(chunk.Tsn))
        {
            return SctpDataResult.Duplicate;
        }

        if (chunk.Beginning && chunk.Ending)
        {
            message = chunk.UserData;
            return SctpDataResult.Delivered;
        }

        var streamKey = (chunk.StreamId, chunk.Unordered);
        state.Streams.TryGetValue(streamKey, out var buffer);
        if (chunk.Beginning)
        {
            var abandoned = buffer is { InProgress: true };
            buffer ??= state.Streams[streamKey] = new FragmentBuffer();
            buffer.Start(chunk.Tsn);
            if (!buffer.Append(chunk.UserData, MaxMessageSize))
            {
                return SctpDataResult.TooLarge;
            }

            return abandoned ? SctpDataResult.OutOfOrderFragment : SctpDataResult.Buffered;
        }

        if (buffer is not { InProgress: true } || chunk.Tsn != buffer.NextTsn)
        {
            buffer?.Abandon();
            return SctpDataResult.OutOfOrderFragment;
        }

        buffer.NextTsn = chunk.Tsn + 1;
        if (!buffer.Append(chunk.UserData, MaxMessageSize))
        {
            return SctpDataResult.TooLarge;
        }

        if (!chunk.Ending)
        {
            return SctpDataResult.Buffered;
        }

        message = buffer.Complete();
        return SctpDataResult.Delivered;
    }

    private sealed class DirectionState
    {
        public readonly TsnWindow Tsns = new();
        public uint VerificationTag;
        public readonly Dictionary<(ushort Stream, bool Unordered), FragmentBuffer> Streams = [];
    }

    private sealed class FragmentBuffer
    {
        private byte[] _data = new byte[4096];
        private int _length;

        public bool InProgress { get; private set; }

        public uint NextTsn { get; set; }

        public void Start(uint tsn)
        {
            InProgress = true;
            NextTsn = tsn + 1;
            _length = 0;
        }

        public void Abandon()
        {
            InProgress = false;
            _length = 0;
        }

        public bool Append(ReadOnlySpan<byte> data, int max)
        {
            if (_length + data.Length > max)
            {
                Abandon();
                return false;
            }

            if (_length + data.Length > _data.Length)
            {
                Array.Resize(ref _data, Math.Min(max, Math.Max(_length + data.Length, _data.Length * 2)));
            }

            data.CopyTo(_data.AsSpan(_length));
            _length += data.Length;
            return true;
        }

        public ReadOnlySpan<byte> Complete()
        {
            InProgress = false;
            return _data.AsSpan(0, _length);
        }
    }
}

/// <summary>
/// The TSNs seen recently in one direction (a window of <see cref="Size"/> in serial-number order, RFC 1982). A TSN
/// further behind than the window starts a new TSN space rather than counting as a retransmission.
/// </summary>
internal sealed class TsnWindow
{
    public const int Size = 1024;
    private readonly uint[] _slots = new uint[Size];
    private readonly bool[] _used = new bool[Size];
    private uint _highest;
    private bool _any;

    /// <summary>Records a TSN; false when it was already seen (or is too old to tell).</summary>
    public bool Add(uint tsn)
    {
        var slot = (int)(tsn & (Size - 1));
        if (!_any)
        {
            _any = true;
            _highest = tsn;
        }
        else
        {
            var diff = (int)(tsn - _highest);
            if (diff > 0)
            {
                _highest = tsn;
            }
            else if (-(long)diff >= Size)
            {
                // Far behind anything recent: not a retransmission but a new TSN space (an association restarted
                // without its INIT captured, or a reused address/port pair). Start over from here.
                Array.Clear(_used);
                _highest = tsn;
            }
            else if (_used[slot] && _slots[slot] == tsn)
            {
                return false;
            }
        }

        _slots[slot] = tsn;
        _used[slot] = true;
        return true;
    }
}
