namespace MobiScud.Sdn.OpenFlow;

/// <summary>How a steering change is confirmed beyond the OpenFlow barrier on a co-located ovs-vswitchd.</summary>
public enum DatapathSyncMode
{
    /// <summary>Barrier only: OVS's tables hold the new flows, its datapath cache may still forward a few ms on the old ones.</summary>
    None,

    /// <summary>
    /// `dpctl/del-flows` after the barrier: deletes every cached datapath flow of this ovs-vswitchd, synchronously, so
    /// the next packet of every flow is translated with the new tables. Every flow of every UE on this ovs-vswitchd
    /// takes the slow path once afterwards. (`revalidator/purge` is not enough: it deletes through the revalidators'
    /// flow keys and skips flows not yet dumped since they were installed; measured: stale packets in 2 of 400 changes.)
    /// </summary>
    Flush,
}

/// <summary>
/// Confirms a steering change in OVS's datapath, not only in its flow tables. OVS answers a BARRIER_REQUEST once its
/// OpenFlow tables hold the change; its datapath flow cache (megaflows) is revalidated afterwards, asynchronously, by
/// revalidator threads, and until then packets that hit a cached megaflow take the old path. Measured here (OVS 3.1,
/// netdev datapath): with a 1 ms downlink stream, about a quarter of handovers had packets sent after the barrier
/// reply on the old path, for up to ~8 ms (85 ms under load); `revalidator/wait` costs up to 500 ms (an idle
/// revalidator sleeps until its timer); and decapsulated uplink megaflows keyed on the old eNB (tunnel source) kept
/// their old action even after two revalidation rounds. Flushing the datapath is the measured way that holds, at ~1 ms.
/// Needs the ovs-vswitchd unixctl socket, so only for an OVS on the controller's host.
/// </summary>
public sealed class OvsDatapathSync : IAsyncDisposable
{
    private readonly OvsUnixctl _unixctl;

    /// <param name="unixctlSocket">ovs-vswitchd's control socket, resolved at each connect (e.g. <c>() => OvsUnixctl.SocketIn(runDir)</c>).</param>
    public OvsDatapathSync(Func<string> unixctlSocket, DatapathSyncMode mode)
    {
        Mode = mode;
        _unixctl = new OvsUnixctl(unixctlSocket);
    }

    public DatapathSyncMode Mode { get; }

    /// <summary>How long one flush may wait for ovs-vswitchd (each of: the socket, the reply).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Returns once the datapath forwards by the tables as they were when it was called. Blocks the calling thread
    /// for the flush (~1 ms on a quiet host): it is called right after a barrier reply on the switch's reader thread,
    /// and a blocking read lets OVS's reply wake that thread directly, where an async read takes two thread wake-ups.
    /// </summary>
    /// <returns>Stopwatch timestamps: request written, reply read (both 0 in <see cref="DatapathSyncMode.None"/>).</returns>
    public (long Sent, long Replied) Sync(CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        if (Mode != DatapathSyncMode.Flush)
        {
            return (0, 0);
        }

        _unixctl.Call("dpctl/del-flows", null, Timeout, out var sent, out var replied);
        return (sent, replied);
    }

    public ValueTask DisposeAsync() => _unixctl.DisposeAsync();
}
