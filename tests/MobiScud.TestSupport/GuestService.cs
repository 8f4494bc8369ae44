using System.Net.Sockets;
using System.Text;

namespace MobiScud.TestSupport;

/// <summary>The MobiScud guest's line services (echo, key-value, token) over their forwarded loopback ports.</summary>
public static class GuestService
{
    /// <summary>One request line, one reply line; retries while the forward is not answering yet.</summary>
    public static async Task<string> RequestAsync(int port, string line, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var c = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await c.ConnectAsync("127.0.0.1", port, cts.Token);
                var s = c.GetStream();
                await s.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), cts.Token);
                using var r = new StreamReader(s, Encoding.ASCII);
                var reply = await r.ReadLineAsync(cts.Token);
                if (!string.IsNullOrEmpty(reply))
                {
                    return reply;
                }

                last = new IOException($"empty reply from port {port} to '{line}'");
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"guest service on port {port} did not answer '{line}' within {seconds} s: {last?.Message}");
    }
}
