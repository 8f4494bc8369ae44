using System.Diagnostics;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Tests;

/// <summary>Real PVMs (Debian cloud kernel under QEMU TCG) live-migrated between sites on this machine.</summary>
[Collection(QemuCollection.Name)]
public sealed class QemuMigrationTests(GuestFixture guest)
{
    /// <summary>Slow enough (2 MiB/s for ~80 MiB of guest memory) that a test can act mid-migration.</summary>
    private static readonly MigrationPolicy _slow = new() { MaxBandwidthBytesPerSecond = 2 * 1024 * 1024 };

    [Fact]
    public async Task Migrated_PVM_keeps_its_boot_token_memory_and_disk_state_including_writes_made_during_migration()
    {
        await using var cloud = new TestCloud(guest, 2, MigrationPolicy.Tuned);
        var ue = new UeId("ue-mig");
        var pvm = PvmId.For(ue);
        var before = await cloud.BootAsync(ue, cloud.Sites[0]);
        var token = await TestCloud.TokenAsync(before);
        Assert.Equal("OK", await TestCloud.RequestAsync(before.Ports.KeyValue, "PUT profile alice-42"));

        // Keep writing through the source while the migration runs; every acknowledged write must survive.
        using var stopWriting = new CancellationTokenSource();
        var acknowledged = new List<int>();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stopWriting.IsCancellationRequested; i++)
            {
                try
                {
                    if (await TestCloud.RequestAsync(before.Ports.KeyValue, $"PUT k{i} dm{i}z", seconds: 2) == "OK")
                    {
                        acknowledged.Add(i);
                    }
                }
                catch (TimeoutException)
                {
                    // the source stopped answering: it is switching over
                }
            }
        });

        var migration = new MigrationId(ue, 1);
        await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Handover));
        var done = await cloud.WaitForAsync<MigrationCompleted>(c => c.Migration == migration);
        await stopWriting.CancelAsync();
        await writer;

        var after = cloud.Hypervisor.Describe(pvm)!;
        Assert.Equal(cloud.Sites[1], after.Status.Site);
        Assert.Equal(PvmState.Running, after.Status.State);
        Assert.NotEqual(before.ProcessId, after.ProcessId);

        // MigrationCompleted goes out as soon as the destination runs; the source is stopped and removed right after.
        await TestCloud.WaitUntilAsync(() => !ProcessExists(before.ProcessId) && !Directory.Exists(Path.GetDirectoryName(before.SerialLog)), "the source QEMU and its files are gone");

        Assert.Equal(token, await TestCloud.TokenAsync(after));
        Assert.Equal("VALUE alice-42", await TestCloud.RequestAsync(after.Ports.KeyValue, "GET profile"));
        Assert.Equal("VALUE alice-42", await TestCloud.RequestAsync(after.Ports.KeyValue, "DGET profile"));
        Assert.NotEmpty(acknowledged);
        foreach (var i in acknowledged.TakeLast(5).Prepend(acknowledged[0]))
        {
            Assert.Equal($"VALUE dm{i}z", await TestCloud.RequestAsync(after.Ports.KeyValue, $"DGET k{i}"));
        }

        // The guest could answer DGET from its page cache; the mirrored image on the destination's host must hold the bytes.
        var image = await File.ReadAllBytesAsync(after.DiskPath);
        Assert.True(image.AsSpan().IndexOf("alice-42"u8) >= 0, "value written before migration is not in the destination's disk image");
        Assert.True(image.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes($"dm{acknowledged[^1]}z")) >= 0, "last write acknowledged during migration is not in the destination's disk image");

        Assert.Equal("hello", await TestCloud.RequestAsync(after.Ports.Echo, "hello"));
        Assert.True(done.Stats.BytesSent > 1024 * 1024, $"only {done.Stats.BytesSent} bytes of RAM sent");
        Assert.True(done.Stats.Rounds >= 1);
        Assert.Contains(cloud.Seen, e => e is MigrationProgressed p && p.Migration == migration);
        TestCloud.AssertCleanSerial(File.ReadAllText(after.SerialLog));
    }

    private static bool ProcessExists(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Cancelled_migration_leaves_the_source_serving()
    {
        await using var cloud = new TestCloud(guest, 2, _slow);
        var ue = new UeId("ue-cancel");
        var pvm = PvmId.For(ue);
        var src = await cloud.BootAsync(ue, cloud.Sites[0]);
        var token = await TestCloud.TokenAsync(src);
        Assert.Equal("OK", await TestCloud.RequestAsync(src.Ports.KeyValue, "PUT a 1"));

        var migration = new MigrationId(ue, 1);
        await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Handover));
        var mid = await cloud.WaitPhaseAsync(pvm, MigrationPhase.CopyingMemory);
        await cloud.WaitForAsync<MigrationProgressed>(p => p.Migration == migration);
        Assert.Equal(PvmState.Migrating, mid.Status.State);
        var destinationPid = mid.DestinationProcessId!.Value;

        await cloud.Hypervisor.ExecuteAsync(new CancelMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1]));
        var failed = await cloud.WaitForAsync<MigrationFailed>(f => f.Migration == migration);
        Assert.Contains("cancel", failed.Reason, StringComparison.OrdinalIgnoreCase);

        var now = cloud.Hypervisor.Describe(pvm)!;
        Assert.Equal(cloud.Sites[0], now.Status.Site);
        Assert.Equal(PvmState.Running, now.Status.State);
        Assert.Equal(src.ProcessId, now.ProcessId);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(destinationPid));
        Assert.Equal(token, await TestCloud.TokenAsync(now));
        Assert.Equal("OK", await TestCloud.RequestAsync(now.Ports.KeyValue, "PUT b 2"));
        Assert.Equal("VALUE 1", await TestCloud.RequestAsync(now.Ports.KeyValue, "DGET a"));
        Assert.DoesNotContain(cloud.Seen, e => e is MigrationCompleted or PvmFailed);
    }

    [Fact]
    public async Task Killing_the_destination_mid_migration_reports_MigrationFailed_and_the_source_keeps_serving()
    {
        await using var cloud = new TestCloud(guest, 2, _slow);
        var ue = new UeId("ue-kill");
        var pvm = PvmId.For(ue);
        var src = await cloud.BootAsync(ue, cloud.Sites[0]);
        var token = await TestCloud.TokenAsync(src);

        var migration = new MigrationId(ue, 7);
        await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Handover));
        var mid = await cloud.WaitPhaseAsync(pvm, MigrationPhase.CopyingMemory);
        await cloud.WaitForAsync<MigrationProgressed>(p => p.Migration == migration);
        using (var destination = Process.GetProcessById(mid.DestinationProcessId!.Value))
        {
            destination.Kill();
        }

        var failed = await cloud.WaitForAsync<MigrationFailed>(f => f.Migration == migration);
        Assert.Contains("destination", failed.Reason, StringComparison.Ordinal);

        var now = cloud.Hypervisor.Describe(pvm)!;
        Assert.Equal(PvmState.Running, now.Status.State);
        Assert.Equal(cloud.Sites[0], now.Status.Site);
        Assert.Equal(token, await TestCloud.TokenAsync(now));
        Assert.Equal("hi", await TestCloud.RequestAsync(now.Ports.Echo, "hi"));
        Assert.DoesNotContain(cloud.Seen, e => e is PvmFailed);
        TestCloud.AssertCleanSerial(File.ReadAllText(now.SerialLog));
    }

    [Fact]
    public async Task PVM_migrates_through_three_sites_in_a_row()
    {
        await using var cloud = new TestCloud(guest, 3, MigrationPolicy.Tuned);
        var ue = new UeId("ue-chain");
        var pvm = PvmId.For(ue);
        var info = await cloud.BootAsync(ue, cloud.Sites[0]);
        var token = await TestCloud.TokenAsync(info);
        Assert.Equal("OK", await TestCloud.RequestAsync(info.Ports.KeyValue, "PUT hop 0"));

        for (var hop = 1; hop <= 2; hop++)
        {
            var migration = new MigrationId(ue, hop);
            await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[hop - 1], cloud.Sites[hop], MigrationReason.Handover));
            await cloud.WaitForAsync<MigrationCompleted>(c => c.Migration == migration);
            info = cloud.Hypervisor.Describe(pvm)!;
            Assert.Equal(cloud.Sites[hop], info.Status.Site);
            Assert.Equal(token, await TestCloud.TokenAsync(info));
            Assert.Equal($"VALUE {hop - 1}", await TestCloud.RequestAsync(info.Ports.KeyValue, "DGET hop"));
            Assert.Equal($"VALUE {hop - 1}", await TestCloud.RequestAsync(info.Ports.KeyValue, "GET hop"));
            Assert.Equal("OK", await TestCloud.RequestAsync(info.Ports.KeyValue, $"PUT hop {hop}"));
        }

        Assert.Equal([new PvmReport(ue, pvm, cloud.Sites[2], PvmState.Running)], cloud.Hypervisor.Query());
        TestCloud.AssertCleanSerial(File.ReadAllText(info.SerialLog));
    }

    [Fact]
    public async Task Suspend_resume_and_a_crashed_QEMU_is_reported_as_PvmFailed()
    {
        await using var cloud = new TestCloud(guest, 1, MigrationPolicy.Tuned);
        var ue = new UeId("ue-crash");
        var pvm = PvmId.For(ue);
        var info = await cloud.BootAsync(ue, cloud.Sites[0]);

        await cloud.Hypervisor.ExecuteAsync(new SuspendPvm(ue, pvm, cloud.Sites[0]));
        Assert.Equal(PvmState.Suspended, cloud.Hypervisor.Query().Single().State);
        await cloud.Hypervisor.ExecuteAsync(new ResumePvm(ue, pvm, cloud.Sites[0]));
        await cloud.WaitForAsync<PvmStarted>(s => s.Pvm == pvm);
        Assert.Equal("up", await TestCloud.RequestAsync(info.Ports.Echo, "up"));

        // A booted 128 MiB guest holds some but not all of its RAM in non-zero pages (kernel, initramfs, busybox).
        var nonZero = await cloud.Hypervisor.MeasureNonZeroMemoryAsync(pvm);
        Assert.InRange(nonZero, 8L << 20, 128L << 20);
        Assert.Equal("up", await TestCloud.RequestAsync(info.Ports.Echo, "up"));

        using (var qemu = Process.GetProcessById(info.ProcessId))
        {
            qemu.Kill();
        }

        var failed = await cloud.WaitForAsync<PvmFailed>(f => f.Pvm == pvm);
        Assert.Contains("exited unexpectedly", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(PvmState.Failed, cloud.Hypervisor.Query().Single().State);

        await cloud.Hypervisor.ExecuteAsync(new DestroyPvm(ue, pvm, cloud.Sites[0]));
        Assert.Empty(cloud.Hypervisor.Query());
    }

    [Fact]
    public async Task Without_a_mirror_the_destination_takes_over_the_shared_disk()
    {
        await using var cloud = new TestCloud(guest, 2, MigrationPolicy.Tuned with { MirrorDisk = false });
        var ue = new UeId("ue-shared");
        var pvm = PvmId.For(ue);
        var before = await cloud.BootAsync(ue, cloud.Sites[0]);
        Assert.Equal("OK", await TestCloud.RequestAsync(before.Ports.KeyValue, "PUT shared yes"));
        var migration = new MigrationId(ue, 1);
        await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Handover));
        await cloud.WaitForAsync<MigrationCompleted>(c => c.Migration == migration);
        var after = cloud.Hypervisor.Describe(pvm)!;
        Assert.Equal(cloud.Sites[1], after.Status.Site);
        Assert.StartsWith(Path.GetDirectoryName(after.SerialLog)!, after.DiskPath, StringComparison.Ordinal);
        Assert.False(File.Exists(before.DiskPath));

        // The ext2 image the guest wrote through the source is what the destination now holds (read on the host).
        var image = await File.ReadAllBytesAsync(after.DiskPath);
        Assert.Equal(0xEF53, BitConverter.ToUInt16(image, 1024 + 56)); // ext2 superblock magic
        Assert.Equal("VALUE yes", await TestCloud.RequestAsync(after.Ports.KeyValue, "DGET shared"));
        Assert.Equal("OK", await TestCloud.RequestAsync(after.Ports.KeyValue, "PUT shared again"));
    }

    [Fact]
    public async Task Bad_commands_are_reported_not_thrown()
    {
        await using var cloud = new TestCloud(guest, 2, MigrationPolicy.Tuned);
        var ue = new UeId("ue-bad");
        var pvm = PvmId.For(ue);
        await cloud.Hypervisor.ExecuteAsync(new CreatePvm(ue, pvm, new SiteId("nowhere")));
        Assert.Contains("unknown site nowhere", (await cloud.WaitForAsync<PvmFailed>()).Reason, StringComparison.Ordinal);

        var migration = new MigrationId(ue, 1);
        await cloud.Hypervisor.ExecuteAsync(new StartMigration(ue, migration, pvm, cloud.Sites[0], cloud.Sites[1], MigrationReason.Manual));
        Assert.Contains("does not exist", (await cloud.WaitForAsync<MigrationFailed>()).Reason, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => cloud.Hypervisor.ExecuteAsync(new RemoveSteering(ue, cloud.Sites[0])));
    }
}
