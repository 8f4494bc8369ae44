using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MobiScud.Cloud.Qmp;

namespace MobiScud.Cloud.Tests;

/// <summary>
/// Protocol edge cases replayed from lines QEMU 7.2.22 really sent (recorded on this machine with
/// `qemu-system-x86_64 -machine none -qmp unix:...`), plus the malformed input a broken peer could send.
/// </summary>
public sealed class QmpTranscriptTests
{
    private const string Greeting =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n";

    /// <summary>A scripted QMP peer: for each command it reads, it sends the next scripted lines, with {id} replaced by the command's id.</summary>
    private static async Task<QmpClient> ConnectScriptedAsync(string greeting, params string[][] repliesPerCommand)
    {
        var (client, server) = Pair();
        _ = Task.Run(async () =>
        {
            try
            {
                var reader = new StreamReader(server, Encoding.UTF8);
                await server.WriteAsync(Encoding.UTF8.GetBytes(greeting));
                foreach (var replies in repliesPerCommand)
                {
                    var line = await reader.ReadLineAsync();
                    if (line is null)
                    {
                        return;
                    }

                    using var doc = JsonDocument.Parse(line);
                    var id = doc.RootElement.GetProperty("id").GetString();
                    foreach (var r in replies)
                    {
                        await server.WriteAsync(Encoding.UTF8.GetBytes(r.Replace("{id}", id, StringComparison.Ordinal) + "\r\n"));
                    }
                }

                await reader.ReadLineAsync(); // hold the connection until the client goes
            }
            catch (IOException)
            {
            }
        });
        return await QmpClient.ConnectAsync(client, TimeSpan.FromSeconds(10));
    }

    private static (Stream Client, Stream Server) Pair()
    {
        var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var path = Path.Combine(Path.GetTempPath(), $"qmp-t-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        var l = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        l.Bind(new UnixDomainSocketEndPoint(path));
        l.Listen(1);
        a.Connect(new UnixDomainSocketEndPoint(path));
        var b = l.Accept();
        l.Dispose();
        File.Delete(path);
        return (new NetworkStream(a, true), new NetworkStream(b, true));
    }

    [Fact]
    public async Task Greeting_version_and_capabilities_are_read()
    {
        await using var qmp = await ConnectScriptedAsync(Greeting, ["{\"return\": {}, \"id\": \"{id}\"}"]);
        Assert.Equal("7.2.22", qmp.QemuVersion);
        Assert.Equal(new[] { "oob" }, qmp.OfferedCapabilities);
    }

    [Fact]
    public async Task Events_before_a_reply_are_delivered_and_the_reply_still_matches_its_id()
    {
        await using var qmp = await ConnectScriptedAsync(
            Greeting,
            ["{\"return\": {}, \"id\": \"{id}\"}"],
            [
                "{\"timestamp\": {\"seconds\": 1795672888, \"microseconds\": 448230}, \"event\": \"STOP\"}",
                "{\"return\": {}, \"id\": \"{id}\"}",
            ]);
        var seen = new List<QmpEvent>();
        qmp.EventReceived += seen.Add;
        var stop = qmp.WaitForEventAsync("STOP", null, TimeSpan.FromSeconds(10));
        var ret = await qmp.ExecuteAsync("stop");
        var ev = await stop;
        Assert.Equal(JsonValueKind.Object, ret.ValueKind);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795672888).AddTicks(4482300), ev.Timestamp);
        Assert.Single(seen);
    }

    [Fact]
    public async Task Errors_carry_QEMUs_class_and_description()
    {
        await using var qmp = await ConnectScriptedAsync(
            Greeting,
            ["{\"return\": {}, \"id\": \"{id}\"}"],
            ["{\"id\": \"{id}\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}"],
            ["{\"id\": \"{id}\", \"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'max-bandwidth' expects uint64\"}}"]);
        var e1 = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("nope"));
        Assert.Equal("CommandNotFound", e1.Class);
        Assert.Equal("nope", e1.Command);
        var e2 = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("migrate-set-parameters", new Dictionary<string, object> { ["max-bandwidth"] = "x" }));
        Assert.Equal("GenericError", e2.Class);
        Assert.Contains("uint64", e2.Desc, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_QEMU_never_answers_times_out()
    {
        await using var qmp = await ConnectScriptedAsync(Greeting, ["{\"return\": {}, \"id\": \"{id}\"}"], []);
        await Assert.ThrowsAsync<QmpTimeoutException>(() => qmp.ExecuteAsync("query-status", null, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_line_that_is_not_JSON_closes_the_connection_with_a_protocol_error()
    {
        await using var qmp = await ConnectScriptedAsync(Greeting, ["{\"return\": {}, \"id\": \"{id}\"}"], ["{\"return\": {}, \"id\": "]);
        var e = await Assert.ThrowsAsync<QmpConnectionClosedException>(() => qmp.ExecuteAsync("query-status"));
        Assert.IsType<QmpProtocolException>(e.InnerException);
        Assert.Contains("not JSON", e.Message, StringComparison.Ordinal);
        await qmp.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_reply_with_neither_return_nor_error_is_a_protocol_error()
    {
        await using var qmp = await ConnectScriptedAsync(Greeting, ["{\"return\": {}, \"id\": \"{id}\"}"], ["{\"id\": \"{id}\"}"]);
        await Assert.ThrowsAsync<QmpProtocolException>(() => qmp.ExecuteAsync("query-status"));
    }

    [Fact]
    public async Task A_peer_that_is_not_QMP_is_refused()
    {
        var e = await Assert.ThrowsAsync<QmpProtocolException>(() => ConnectScriptedAsync("SSH-2.0-OpenSSH_9.2\r\n"));
        Assert.Contains("not JSON", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<QmpProtocolException>(() => ConnectScriptedAsync("{\"hello\": 1}\n"));
    }

    [Fact]
    public async Task Connection_closed_mid_command_fails_the_command()
    {
        var (client, server) = Pair();
        _ = Task.Run(async () =>
        {
            var reader = new StreamReader(server);
            await server.WriteAsync(Encoding.UTF8.GetBytes(Greeting));
            var line = await reader.ReadLineAsync();
            var id = JsonDocument.Parse(line!).RootElement.GetProperty("id").GetString();
            await server.WriteAsync(Encoding.UTF8.GetBytes($"{{\"return\": {{}}, \"id\": \"{id}\"}}\n"));
            await reader.ReadLineAsync();
            server.Dispose();
        });
        await using var qmp = await QmpClient.ConnectAsync(client, TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<QmpConnectionClosedException>(() => qmp.ExecuteAsync("query-status", null, TimeSpan.FromSeconds(10)));
    }
}
