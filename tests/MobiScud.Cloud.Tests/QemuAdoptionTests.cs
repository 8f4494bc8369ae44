using MobiScud.TestSupport;
using System.Diagnostics;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Tests;

/// <summary>Detached QEMUs outlive their QemuHypervisor, and a new one over the same site directories adopts them.</summary>
[Collection(QemuCollection.Name)]
public sealed class QemuAdoptionTests(GuestFixture guest) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory($"mobiscud-adopt-{Environment.ProcessId}-").FullName;
    private readonly int _basePort = TestPorts.RandomBase();

    [Fact]
    public async Task A_new_hypervisor_adopts_a_detached_pvm_with_its_guest_state_and_live_migrates_it()
    {
        var ue = new UeId("ue-adopt");
        var pvm = PvmId.For(ue);
        QemuPvmInfo before;
        string token;
        var first = NewHypervisor();
        await using (var cloud = new EventReader(first))
        {
            await first.ExecuteAsync(new CreatePvm(ue, pvm, Site(0)));
            await cloud.WaitForAsync<PvmStarted>(s => s.Pvm == pvm);
            before = first.Describe(pvm)!;

            // Its own session: a signal to this process's group or session (Ctrl-C, a service manager's stop) does not reach it.
            Assert.NotEqual(SessionOf(Environment.ProcessId), SessionOf(before.ProcessId));
            Assert.Equal(before.ProcessId, SessionOf(before.ProcessId));
            token = await TestCloud.TokenAsync(before);
            Assert.Equal("OK", await TestCloud.RequestAsync(before.Ports.KeyValue, "PUT survivor kept-across-restart"));
        }

        // The first hypervisor is gone (QMP closed); its QEMU runs on, with a manifest that says how to come back.
        Assert.True(QemuInstance.IsInstanceProcess(before.ProcessId, Path.GetDirectoryName(before.SerialLog)!), "the detached QEMU died with its hypervisor");
        var manifest = QemuManifest.TryRead(QemuManifest.PathIn(Path.GetDirectoryName(before.SerialLog)!), out var error);
        Assert.True(manifest is not null, error);
        Assert.Equal((pvm.Value, Site(0).Value, before.ProcessId, QemuInstanceRole.Active), (manifest.Pvm, manifest.Site, manifest.Pid, manifest.Role));

        var second = NewHypervisor();
        await using var reader = new EventReader(second);
        var report = await second.AdoptAsync();
        Assert.Empty(report.Problems);
        var adopted = Assert.Single(report.Adopted);
        Assert.Equal((ue, pvm, Site(0), before.ProcessId, PvmState.Running), (adopted.Ue, adopted.Pvm, adopted.Site, adopted.ProcessId, adopted.State));

        var status = Assert.Single(second.Query());
        Assert.Equal((Site(0), PvmState.Running), (status.Site, status.State));
        var info = second.Describe(pvm)!;
        Assert.Equal(before.ProcessId, info.ProcessId);
        Assert.Equal("running", await second.QueryQemuStatusAsync(pvm));
        Assert.Equal(token, await TestCloud.TokenAsync(info));
        Assert.Equal("VALUE kept-across-restart", await TestCloud.RequestAsync(info.Ports.KeyValue, "GET survivor"));

        // The adopted PVM is a full citizen: it live-migrates, memory and disk with it.
        var migration = new MigrationId(ue, 1);
        await second.ExecuteAsync(new StartMigration(ue, migration, pvm, Site(0), Site(1), MigrationReason.Handover));
        await reader.WaitForAsync<MigrationCompleted>(c => c.Migration == migration, seconds: 90);
        var after = second.Describe(pvm)!;
        Assert.Equal(Site(1), after.Status.Site);
        Assert.NotEqual(before.ProcessId, after.ProcessId);
        Assert.Equal(token, await TestCloud.TokenAsync(after));
        Assert.Equal("VALUE kept-across-restart", await TestCloud.RequestAsync(after.Ports.KeyValue, "GET survivor"));
        Assert.Equal("VALUE kept-across-restart", await TestCloud.RequestAsync(after.Ports.KeyValue, "DGET survivor"));
        await TestCloud.WaitUntilAsync(() => !QemuInstance.IsInstanceProcess(before.ProcessId, Path.GetDirectoryName(before.SerialLog)!), "the adopted source QEMU quit");

        // The destination's manifest took over: a third hypervisor would find the PVM at site-b.
        var moved = QemuManifest.TryRead(QemuManifest.PathIn(Path.GetDirectoryName(after.SerialLog)!), out error);
        Assert.True(moved is not null, error);
        Assert.Equal((Site(1).Value, after.ProcessId, QemuInstanceRole.Active, (int?)null), (moved.Site, moved.Pid, moved.Role, moved.MigrationSequence));

        await second.ExecuteAsync(new DestroyPvm(ue, pvm, Site(1)));
        Assert.Empty(second.Query());
        Assert.Empty(QemuProcesses.Under(_root));
    }

    [Fact]
    public async Task A_migration_in_flight_when_its_hypervisor_died_is_rolled_back_if_unfinished_and_adopted_at_the_destination_if_completed()
    {
        var ue = new UeId("ue-flight");
        var pvm = PvmId.For(ue);
        var first = NewHypervisor();
        QemuPvmInfo source;
        string token;
        await using (var reader = new EventReader(first))
        {
            await first.ExecuteAsync(new CreatePvm(ue, pvm, Site(0)));
            await reader.WaitForAsync<PvmStarted>();
            source = first.Describe(pvm)!;
            token = await TestCloud.TokenAsync(source);
            Assert.Equal("OK", await TestCloud.RequestAsync(source.Ports.KeyValue, "PUT flight in-the-air"));
        }

        // 1. A copy at 1 MiB/s is still running when "the process dies" (its QMP connections just go away).
        var dstPorts = QemuPorts.From(_basePort + 30 + 10);
        await LeaveMigrationInFlightAsync(source, dstPorts, sequence: 1, bandwidth: 1 << 20, waitCompleted: false);

        var second = NewHypervisor();
        QemuPvmInfo rolledBack;
        await using (var reader = new EventReader(second))
        {
            var report = await second.AdoptAsync();
            Assert.Empty(report.Problems);
            var adopted = Assert.Single(report.Adopted);
            Assert.Equal((Site(0), source.ProcessId, PvmState.Running), (adopted.Site, adopted.ProcessId, adopted.State));
            Assert.Contains("cancelled", adopted.Note, StringComparison.Ordinal);
            Assert.Equal("running", await second.QueryQemuStatusAsync(pvm));
            rolledBack = second.Describe(pvm)!;
            Assert.Equal("VALUE in-the-air", await TestCloud.RequestAsync(rolledBack.Ports.KeyValue, "GET flight"));
            Assert.Equal([source.ProcessId], QemuProcesses.Under(_root));
            Assert.Empty(Directory.EnumerateDirectories(Path.Combine(_root, Site(1).Value)));
            var m = QemuManifest.TryRead(QemuManifest.PathIn(Path.GetDirectoryName(source.SerialLog)!), out _)!;
            Assert.Null(m.MigrationSequence);
        }

        // 2. This time the copy completed before the process died: the destination is the PVM, the source goes.
        await LeaveMigrationInFlightAsync(rolledBack, dstPorts, sequence: 2, bandwidth: 1L << 30, waitCompleted: true);
        var third = NewHypervisor();
        await using (var reader = new EventReader(third))
        {
            var report = await third.AdoptAsync();
            Assert.Empty(report.Problems);
            var adopted = Assert.Single(report.Adopted);
            Assert.Equal((Site(1), PvmState.Running), (adopted.Site, adopted.State));
            Assert.Contains("had completed", adopted.Note, StringComparison.Ordinal);
            var after = third.Describe(pvm)!;
            Assert.Equal(adopted.ProcessId, after.ProcessId);
            Assert.NotEqual(source.ProcessId, after.ProcessId);
            Assert.Equal("running", await third.QueryQemuStatusAsync(pvm));
            Assert.Equal(token, await TestCloud.TokenAsync(after));
            Assert.Equal("VALUE in-the-air", await TestCloud.RequestAsync(after.Ports.KeyValue, "DGET flight"));
            await TestCloud.WaitUntilAsync(() => QemuProcesses.Under(_root).SequenceEqual([after.ProcessId]), "only the destination QEMU is left");

            // The shared disk moved into the destination's directory with it.
            Assert.StartsWith(Path.GetDirectoryName(after.SerialLog)!, after.DiskPath, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.GetDirectoryName(source.SerialLog)));

            // The adopted QEMU is supervised as a started one: its death reaches the caller as PvmFailed.
            using (var p = Process.GetProcessById(after.ProcessId))
            {
                p.Kill();
            }

            var failed = await reader.WaitForAsync<PvmFailed>(f => f.Pvm == pvm);
            Assert.Contains("QEMU exited unexpectedly", failed.Reason, StringComparison.Ordinal);
            Assert.Equal(PvmState.Failed, Assert.Single(third.Query()).State);
            await third.ExecuteAsync(new DestroyPvm(ue, pvm, Site(1)));
        }
    }

    /// <summary>
    /// What a hypervisor that died mid-migration leaves behind: both manifests naming the migration, a destination on the
    /// source's (shared) disk waiting with -incoming, and QEMU copying memory, with nobody connected to either QMP.
    /// </summary>
    private async Task LeaveMigrationInFlightAsync(QemuPvmInfo source, QemuPorts dstPorts, int sequence, long bandwidth, bool waitCompleted)
    {
        var srcDir = Path.GetDirectoryName(source.SerialLog)!;
        var srcManifest = QemuManifest.TryRead(QemuManifest.PathIn(srcDir), out var error) ?? throw new InvalidOperationException(error);
        var spec = new PvmSpec(srcManifest.MemoryMiB, srcManifest.DiskMiB);
        var dstDir = Path.Combine(_root, Site(1).Value, $"{srcManifest.Pvm}.{50 + sequence}");
        var dst = await QemuInstance.StartAsync(guest.Qemu, guest.Image, Site(1), dstDir, dstPorts, spec, incoming: true, sharedDisk: source.DiskPath, CancellationToken.None, detached: true);
        (srcManifest with { MigrationSequence = sequence, MigrationFrom = Site(0).Value, MigrationTo = Site(1).Value }).Write();
        new QemuManifest
        {
            Ue = srcManifest.Ue,
            Pvm = srcManifest.Pvm,
            Site = Site(1).Value,
            Role = QemuInstanceRole.Destination,
            State = PvmState.Running,
            Pid = dst.ProcessId,
            Directory = dstDir,
            QmpSocket = dst.QmpSocket,
            Ports = dstPorts,
            DiskPath = source.DiskPath,
            MemoryMiB = spec.MemoryMiB,
            DiskMiB = spec.DiskMiB,
            MigrationSequence = sequence,
            MigrationFrom = Site(0).Value,
            MigrationTo = Site(1).Value,
        }.Write();

        await using (var src = await MobiScud.Cloud.Qmp.QmpClient.ConnectUnixAsync(srcManifest.QmpSocket, TimeSpan.FromSeconds(10)))
        {
            var uri = $"tcp:127.0.0.1:{dstPorts.Migration}";
            await src.ExecuteAsync("migrate-set-parameters", new Dictionary<string, object> { ["max-bandwidth"] = bandwidth });
            await dst.Qmp.ExecuteAsync("migrate-incoming", new { uri });
            await src.ExecuteAsync("migrate", new { uri });
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var info = await src.ExecuteAsync("query-migrate");
                var status = info.GetProperty("status").GetString();
                if (waitCompleted ? status == "completed" : status == "active" && info.TryGetProperty("ram", out var ram) && ram.GetProperty("transferred").GetInt64() > 0)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline && status is "setup" or "active" or "device" or "completed", $"migration is '{status}'");
                await Task.Delay(50);
            }
        }

        await dst.DetachAsync();
    }

    [Fact]
    public async Task Broken_and_stale_manifests_are_reported_by_path_and_cleaned_and_adoption_goes_on()
    {
        var site = Path.Combine(_root, Site(0).Value);

        // Garbage JSON.
        var garbage = Directory.CreateDirectory(Path.Combine(site, "pvm-ue-g.7")).FullName;
        await File.WriteAllTextAsync(QemuManifest.PathIn(garbage), "{ \"ue\": \"ue-g\", \"pvm\": ");

        // A well-formed manifest whose QEMU is gone: the pid of a process that has exited.
        var dead = Directory.CreateDirectory(Path.Combine(site, "pvm-ue-d.8")).FullName;
        int deadPid;
        using (var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            await p.WaitForExitAsync();
            deadPid = p.Id;
        }

        new QemuManifest
        {
            Ue = "ue-d",
            Pvm = "pvm-ue-d",
            Site = Site(0).Value,
            Role = QemuInstanceRole.Active,
            State = PvmState.Running,
            Pid = deadPid,
            Directory = dead,
            QmpSocket = Path.Combine(dead, "qmp.sock"),
            Ports = QemuPorts.From(_basePort),
            DiskPath = Path.Combine(dead, "disk.raw"),
            MemoryMiB = 128,
            DiskMiB = 32,
        }.Write();

        // An instance directory with no manifest at all (a boot the previous process never finished).
        var bare = Directory.CreateDirectory(Path.Combine(site, "pvm-ue-b.9")).FullName;

        var hv = NewHypervisor();
        await using var reader = new EventReader(hv);
        var report = await hv.AdoptAsync();
        Assert.Empty(report.Adopted);
        Assert.Empty(hv.Query());
        Assert.Equal(3, report.Problems.Count);
        Assert.Contains(report.Problems, p => p.Path == QemuManifest.PathIn(garbage) && p.Message.Contains("not a QEMU instance manifest", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Path == QemuManifest.PathIn(dead) && p.Message.Contains($"pid {deadPid}", StringComparison.Ordinal) && p.Message.Contains("not running", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Path == bare && p.Message.Contains("no manifest.json", StringComparison.Ordinal));
        Assert.False(Directory.Exists(garbage) || Directory.Exists(dead) || Directory.Exists(bare), "stale instance directories were left");

        // New instances never reuse a name a previous run left.
        var ue = new UeId("ue-next");
        await hv.ExecuteAsync(new CreatePvm(ue, PvmId.For(ue), Site(0)));
        await reader.WaitForAsync<PvmStarted>();
        Assert.EndsWith(".10", Path.GetDirectoryName(hv.Describe(PvmId.For(ue))!.SerialLog)!, StringComparison.Ordinal);
        await hv.ExecuteAsync(new DestroyPvm(ue, PvmId.For(ue), Site(0)));
    }

    /// <summary>Field 6 of /proc/pid/stat (after the parenthesised command name): the session id.</summary>
    private static int SessionOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static SiteId Site(int i) => new($"site-{(char)('a' + i)}");

    private QemuHypervisor NewHypervisor()
    {
        var hv = new QemuHypervisor(new QemuHypervisorOptions { Image = guest.Image, QemuBinary = guest.Qemu, Policy = MigrationPolicy.Tuned, Detached = true });
        for (var i = 0; i < 2; i++)
        {
            hv.AddSite(new QemuSite(Site(i), Path.Combine(_root, Site(i).Value), _basePort + (i * 30), 30));
        }

        return hv;
    }

    /// <summary>Detached QEMUs outlive everything: kill whatever is left under the test's directory, by pidfile and by command line.</summary>
    public void Dispose()
    {
        foreach (var pidfile in Directory.Exists(_root) ? Directory.EnumerateFiles(_root, QemuInstance.PidFile, SearchOption.AllDirectories).ToList() : [])
        {
            QemuInstance.KillByPidFile(Path.GetDirectoryName(pidfile)!);
        }

        QemuProcesses.KillUnder(_root);

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Reads a hypervisor's events; disposing it disposes the hypervisor (which leaves detached PVMs running).</summary>
    private sealed class EventReader(QemuHypervisor hv) : IAsyncDisposable
    {
        private readonly List<ControlEvent> _seen = [];

        public async Task<T> WaitForAsync<T>(Func<T, bool>? match = null, int seconds = 60)
            where T : ControlEvent
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            try
            {
                while (true)
                {
                    var e = await hv.Events.ReadAsync(cts.Token);
                    _seen.Add(e);
                    if (e is T t && (match?.Invoke(t) ?? true))
                    {
                        return t;
                    }

                    if (e is PvmFailed or MigrationFailed)
                    {
                        throw new Xunit.Sdk.XunitException($"{e} while waiting for {typeof(T).Name}");
                    }
                }
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"no {typeof(T).Name} within {seconds} s; saw: {string.Join("; ", _seen)}");
            }
        }

        public ValueTask DisposeAsync() => hv.DisposeAsync();
    }
}
