using System.Buffers.Binary;

namespace MobiScud.Capture;

/// <summary>Opens a capture file as pcap or pcapng by its magic number, whatever its extension.</summary>
public static class CaptureFile
{
    public static IFrameSource Open(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaptureFormatException(path, 0, null, $"cannot open: {e.Message}");
        }

        return Open(stream, path);
    }

    /// <summary>Reads from memory (a benchmark's repeat loop, a test's crafted file) without copying.</summary>
    public static IFrameSource Open(byte[] bytes, string name) => Open(new MemoryStream(bytes, 0, bytes.Length, false, true), name);

    public static IFrameSource Open(Stream stream, string name)
    {
        var window = new ByteWindow(stream);
        try
        {
            if (!window.Ensure(4))
            {
                throw new CaptureFormatException(name, 0, null, "file too short to be a capture (under 4 bytes)");
            }

            var magic = BinaryPrimitives.ReadUInt32LittleEndian(window.Peek(4));
            return magic switch
            {
                0x0A0D0D0A => new PcapNgReader(window, name),
                0xA1B2C3D4 or 0xA1B23C4D or 0xD4C3B2A1 or 0x4D3CB2A1 => new PcapReader(window, name),
                _ => throw new CaptureFormatException(name, 0, null, $"neither pcap nor pcapng (magic 0x{magic:x8})"),
            };
        }
        catch
        {
            window.Dispose();
            throw;
        }
    }
}
