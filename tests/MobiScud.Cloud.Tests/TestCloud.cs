using MobiScud.TestSupport;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Tests;

/// <summary>A QEMU hypervisor with a few sites in a temporary directory; removes everything on dispose.</summary>
public sealed class TestCloud : IAsyncDisposable
{
    private readonly List<ControlEvent> _seen = [];
    private readonly string _root;

    /// <param name="lab">With a lab, PVMs get a data NIC on the lab's bridges (site i on lab.Sites[i]).</param>
    public TestCloud(GuestFixture guest, int sites, MigrationPolicy policy, PvmSpec? spec = null, MobiScud.Cloud.Net.BridgeLab? lab = null)
    {
        _root = Directory.CreateTempSubdirectory($"mobiscud-cloud-{Environment.ProcessId}-").FullName;
        Hypervisor = new QemuHypervisor(new QemuHypervisorOptions
        {
            Image = guest.Image,
            QemuBinary = guest.Qemu,
            Policy = policy,
            DefaultSpec = spec ?? new PvmSpec(),
            DataNetwork = lab?.Network,
        });

        // Random port block per run so parallel helpers and leftovers do not collide; the allocator skips busy ports.
        var basePort = TestPorts.RandomBase();
        for (var i = 0; i < sites; i++)
        {
            Sites.Add(new SiteId($"site-{(char)('a' + i)}"));
            Hypervisor.AddSite(new QemuSite(Sites[i], Path.Combine(_root, Sites[i].Value), basePort + (i * 30), 30) { DataBridge = lab?.Sites[i].DataBridge });
        }
    }

    public QemuHypervisor Hypervisor { get; }

    public List<SiteId> Sites { get; } = [];

    public IReadOnlyList<ControlEvent> Seen => _seen;

    /// <summary>Reads events until one matches; fails with every event seen if none comes in time.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool>? match = null, int seconds = 45)
        where T : ControlEvent
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (true)
            {
                var e = await Hypervisor.Events.ReadAsync(cts.Token);
                _seen.Add(e);
                if (e is T t && (match?.Invoke(t) ?? true))
                {
                    return t;
                }

                if (e is PvmFailed f && typeof(T) != typeof(PvmFailed))
                {
                    throw new Xunit.Sdk.XunitException($"PVM failed while waiting for {typeof(T).Name}: {f.Reason}");
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"no {typeof(T).Name} within {seconds} s; saw: {string.Join("; ", _seen)}");
        }
    }

    public async Task<QemuPvmInfo> BootAsync(UeId ue, SiteId site)
    {
        var pvm = PvmId.For(ue);
        await Hypervisor.ExecuteAsync(new CreatePvm(ue, pvm, site));
        Started = await WaitForAsync<PvmStarted>(s => s.Pvm == pvm);
        return Hypervisor.Describe(pvm)!;
    }

    /// <summary>The last PvmStarted <see cref="BootAsync"/> saw.</summary>
    public PvmStarted? Started { get; private set; }

    public async Task<QemuPvmInfo> WaitPhaseAsync(PvmId pvm, MigrationPhase phase, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (Hypervisor.Describe(pvm) is { Phase: { } p } info && p >= phase)
            {
                return info;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"migration of {pvm} did not reach {phase} within {seconds} s");
    }

    /// <summary>One request line to a guest service over its forwarded port (see <see cref="GuestService"/>).</summary>
    public static Task<string> RequestAsync(int port, string line, int seconds = 60) => GuestService.RequestAsync(port, line, seconds);

    /// <summary>Polls <paramref name="condition"/> until true; fails naming <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"timed out after {seconds} s waiting until {what}");
            }

            await Task.Delay(20);
        }
    }

    public static async Task<string> TokenAsync(QemuPvmInfo info) => (await RequestAsync(info.Ports.KeyValue, "TOKEN")).Split(' ')[1];

    public static void AssertCleanSerial(string log)
    {
        Assert.DoesNotContain("Kernel panic", log, StringComparison.Ordinal);
        Assert.DoesNotContain("BUG:", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Oops", log, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        await Hypervisor.DisposeAsync();
        try
        {
            Directory.Delete(_root, true);
        }
        catch (IOException)
        {
        }
    }
}
