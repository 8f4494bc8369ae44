using System.Buffers.Binary;
using MobiScud.Cloud.Qmp;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// How much of a guest's RAM is not zero: the floor for what a pre-copy migration must send (QEMU sends zero pages
/// as a flag). Measured from a real dump (QMP dump-guest-memory, ELF) rather than the guest's own accounting,
/// because freed pages keep their old contents.
/// </summary>
internal static class GuestMemory
{
    public const int PageSize = 4096;

    /// <summary>Dumps the guest's memory to <paramref name="scratchFile"/> (pausing it briefly), counts non-zero pages, deletes the dump.</summary>
    public static async Task<long> NonZeroBytesAsync(QmpClient qmp, string scratchFile, CancellationToken ct = default)
    {
        try
        {
            await qmp.SendAsync(new DumpGuestMemory(Paging: false, Protocol: "file:" + scratchFile), TimeSpan.FromSeconds(120), ct);
            return CountNonZeroPages(scratchFile) * PageSize;
        }
        finally
        {
            File.Delete(scratchFile);
        }
    }

    /// <summary>Counts non-zero 4 KiB pages in the PT_LOAD segments of an ELF64 core file, validating every offset.</summary>
    public static long CountNonZeroPages(string elfPath)
    {
        using var f = File.OpenRead(elfPath);
        var header = new byte[64];
        if (f.ReadAtLeast(header, 64, throwOnEndOfStream: false) < 64 || !header.AsSpan(0, 4).SequenceEqual((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']) || header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"{elfPath}: not a little-endian ELF64 file");
        }

        var phoff = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(0x20));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x36));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x38));
        if (phentsize < 56 || phoff < 64 || phoff + ((long)phnum * phentsize) > f.Length)
        {
            throw new InvalidDataException($"{elfPath}: program headers (offset {phoff}, {phnum} x {phentsize} bytes) do not fit the {f.Length}-byte file");
        }

        var ph = new byte[phentsize];
        var page = new byte[PageSize];
        long nonZero = 0;
        for (var i = 0; i < phnum; i++)
        {
            f.Position = phoff + ((long)i * phentsize);
            f.ReadExactly(ph);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != 1)
            {
                continue; // not PT_LOAD
            }

            var offset = BinaryPrimitives.ReadInt64LittleEndian(ph.AsSpan(8));
            var size = BinaryPrimitives.ReadInt64LittleEndian(ph.AsSpan(0x20));
            if (offset < 0 || size < 0 || offset + size > f.Length)
            {
                throw new InvalidDataException($"{elfPath}: segment {i} ({size} bytes at {offset}) runs past the end of the file");
            }

            f.Position = offset;
            for (long done = 0; done < size; done += PageSize)
            {
                var n = (int)Math.Min(PageSize, size - done);
                f.ReadExactly(page, 0, n);
                if (page.AsSpan(0, n).ContainsAnyExcept((byte)0))
                {
                    nonZero++;
                }
            }
        }

        return nonZero;
    }
}
