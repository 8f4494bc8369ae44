using System.Buffers.Binary;
using MobiScud.Cloud.Qemu;

namespace MobiScud.Cloud.Tests;

/// <summary>The dump parser refuses broken files with a clear error (the real-dump path is covered with QEMU in QemuMigrationTests).</summary>
public sealed class GuestMemoryTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"mobiscud-dump-{Environment.ProcessId}-{Guid.NewGuid():N}.elf");

    public void Dispose() => File.Delete(_path);

    private static byte[] Elf(long segmentOffset, long segmentSize, int fileSize)
    {
        var b = new byte[fileSize];
        b[0] = 0x7f;
        b[1] = (byte)'E';
        b[2] = (byte)'L';
        b[3] = (byte)'F';
        b[4] = 2;
        b[5] = 1;
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(0x20), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x36), 56);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x38), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(64), 1); // PT_LOAD
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(64 + 8), segmentOffset);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(64 + 0x20), segmentSize);
        return b;
    }

    [Fact]
    public void Counts_only_pages_with_a_non_zero_byte()
    {
        var b = Elf(4096, 3 * 4096, 4 * 4096);
        b[4096 + 4095] = 1; // page 0
        b[(3 * 4096) + 17] = 9; // page 2
        File.WriteAllBytes(_path, b);
        Assert.Equal(2, GuestMemory.CountNonZeroPages(_path));
    }

    [Fact]
    public void A_segment_past_the_end_of_the_file_is_refused()
    {
        File.WriteAllBytes(_path, Elf(4096, 1L << 40, 8192));
        var e = Assert.Throws<InvalidDataException>(() => GuestMemory.CountNonZeroPages(_path));
        Assert.Contains("runs past the end", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_ELF64_is_refused()
    {
        File.WriteAllBytes(_path, "not an elf file, just text that is long enough to hold a header......"u8.ToArray());
        Assert.Throws<InvalidDataException>(() => GuestMemory.CountNonZeroPages(_path));
        var truncated = Elf(4096, 4096, 120)[..100];
        File.WriteAllBytes(_path, truncated);
        Assert.Throws<InvalidDataException>(() => GuestMemory.CountNonZeroPages(_path));
    }
}
