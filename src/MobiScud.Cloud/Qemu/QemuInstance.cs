using System.Diagnostics;
using System.Globalization;
using System.Text;
using MobiScud.Cloud.Qmp;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Qemu;

/// <summary>The loopback ports of one QEMU instance: guest services forwarded by user networking, plus migration.</summary>
/// <param name="Echo">Guest port 7 (echo).</param>
/// <param name="KeyValue">Guest port 8 (PUT/GET/DGET/TOKEN, one line per connection).</param>
/// <param name="Token">Guest port 9 (boot token and uptime).</param>
/// <param name="Migration">Where a destination instance accepts the migration stream.</param>
/// <param name="Nbd">Where a destination instance serves its disk to the source's mirror job.</param>
public sealed record QemuPorts(int Echo, int KeyValue, int Token, int Migration, int Nbd)
{
    public const int Count = 5;

    public static QemuPorts From(int first) => new(first, first + 1, first + 2, first + 3, first + 4);
}

/// <summary>One supervised QEMU process (a PVM at a site, or a migration destination waiting for it).</summary>
public sealed class QemuInstance : IAsyncDisposable
{
    public const string DiskNode = "disk0";
    public const string ReadyMarker = "MOBISCUD-READY";

    private readonly Process process;
    private readonly StringBuilder stderr = new();
    private readonly TaskCompletionSource<int> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int stopping;
    private int tapDeleted;

    private QemuInstance(SiteId site, string directory, string diskPath, QemuPorts ports, PvmSpec spec, Process process, QemuDataNic? dataNic)
    {
        Site = site;
        DataNic = dataNic;
        DiskPath = diskPath;
        Directory = directory;
        Ports = ports;
        Spec = spec;
        this.process = process;
    }

    public SiteId Site { get; }

    public string Directory { get; }

    public QemuPorts Ports { get; }

    public PvmSpec Spec { get; }

    /// <summary>The data-plane NIC (eth1 in the guest) on this instance's own tap; null without a data network.</summary>
    public QemuDataNic? DataNic { get; }

    public QmpClient Qmp { get; private set; } = null!;

    public int ProcessId => process.Id;

    public string SerialLog => Path.Combine(Directory, "serial.log");

    /// <summary>The PVM's disk; outside <see cref="Directory"/> while a destination shares its source's disk.</summary>
    public string DiskPath { get; internal set; }

    /// <summary>Completes with QEMU's exit code when the process ends (expected or not).</summary>
    public Task<int> Exited => exited.Task;

    /// <summary>True once <see cref="StopAsync"/> began: an exit from then on is not a crash.</summary>
    public bool Stopping => Volatile.Read(ref stopping) != 0;

    public string StderrTail
    {
        get
        {
            lock (stderr)
            {
                var s = stderr.ToString().Trim();
                return s.Length > 600 ? s[^600..] : s;
            }
        }
    }

    /// <summary>
    /// QEMU's command line. With <paramref name="dataNic"/>, a second virtio-net on its tap (after the disk, so the
    /// guest sees it as eth1) and <paramref name="dataKernelArguments"/> on the kernel line. A migration destination
    /// gets the same device layout, MAC and kernel line as its source (QEMU requires identical devices).
    /// </summary>
    public static IReadOnlyList<string> BuildArguments(
        GuestImage image, string directory, string diskPath, QemuPorts ports, PvmSpec spec, bool incoming,
        QemuDataNic? dataNic = null, string? dataKernelArguments = null)
    {
        var append = "console=ttyS0 quiet panic=-1 pti=on" + (spec.DirtyMiB > 0 ? $" mobiscud.dirty={spec.DirtyMiB}" : "") +
                     (dataNic is not null && dataKernelArguments is not null ? " " + dataKernelArguments : "");
        var args = new List<string>
        {
            "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", spec.MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-nodefaults", "-no-user-config", "-display", "none", "-M", "pc",
            "-device", "virtio-net-pci,netdev=n0,romfile=",
            "-netdev", $"user,id=n0,hostfwd=tcp:127.0.0.1:{ports.Echo}-:7,hostfwd=tcp:127.0.0.1:{ports.KeyValue}-:8,hostfwd=tcp:127.0.0.1:{ports.Token}-:9",
            "-blockdev", $"driver=file,filename={diskPath},node-name=file0",
            "-blockdev", $"driver=raw,file=file0,node-name={DiskNode}",

            // share-rw: the NBD export on a destination and the guest's device both hold the disk during switch-over.
            "-device", $"virtio-blk-pci,drive={DiskNode},share-rw=on",
            "-chardev", $"file,id=ser0,path={Path.Combine(directory, "serial.log")}",
            "-serial", "chardev:ser0",
            "-qmp", $"unix:{Path.Combine(directory, "qmp.sock")},server=on,wait=off",
            "-pidfile", Path.Combine(directory, "qemu.pid"),
            "-kernel", image.Kernel, "-initrd", image.Initrd, "-append", append, "-no-reboot",
        };
        if (dataNic is not null)
        {
            // QEMU creates the tap (script=no: the hypervisor plugs it into the site's bridge itself).
            args.AddRange([
                "-netdev", $"tap,id=n1,ifname={dataNic.Tap},script=no,downscript=no",
                "-device", $"virtio-net-pci,netdev=n1,mac={QemuDataNetwork.Colon(dataNic.Mac)},romfile=",
            ]);
        }

        if (incoming)
        {
            args.AddRange(["-incoming", "defer"]);
        }

        return args;
    }

    /// <summary>
    /// Starts QEMU in <paramref name="directory"/> (created) and connects QMP. Its disk is <paramref name="sharedDisk"/>
    /// (a migration destination on shared storage), else a new sparse disk.raw in the directory.
    /// </summary>
    public static async Task<QemuInstance> StartAsync(
        string qemuBinary, GuestImage image, SiteId site, string directory, QemuPorts ports, PvmSpec spec, bool incoming, string? sharedDisk, CancellationToken ct,
        QemuDataNic? dataNic = null, string? dataKernelArguments = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var disk = sharedDisk ?? Path.Combine(directory, "disk.raw");
        if (!File.Exists(disk))
        {
            // A zeroed disk: the guest formats it on first boot; a destination's copy is filled by the mirror.
            await using var f = new FileStream(disk, FileMode.CreateNew);
            f.SetLength((long)spec.DiskMiB * 1024 * 1024);
        }

        var psi = new ProcessStartInfo(qemuBinary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var a in BuildArguments(image, directory, disk, ports, spec, incoming, dataNic, dataKernelArguments))
        {
            psi.ArgumentList.Add(a);
        }

        Process p;
        try
        {
            p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            p.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot start {qemuBinary}: {e.Message} (apt-get install -y qemu-system-x86)", e);
        }

        var instance = new QemuInstance(site, directory, disk, ports, spec, p, dataNic);
        p.Exited += (_, _) =>
        {
            int code;
            try
            {
                code = p.ExitCode;
            }
            catch (InvalidOperationException)
            {
                code = -1;
            }

            instance.exited.TrySetResult(code);
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (instance.stderr)
                {
                    if (instance.stderr.Length < 64 * 1024)
                    {
                        instance.stderr.AppendLine(e.Data);
                    }
                }
            }
        };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        if (p.HasExited)
        {
            instance.exited.TrySetResult(p.ExitCode);
        }

        try
        {
            var connect = QmpClient.ConnectUnixAsync(Path.Combine(directory, "qmp.sock"), TimeSpan.FromSeconds(20), ct);
            var first = await Task.WhenAny(connect, instance.Exited);
            if (first != connect)
            {
                throw new InvalidOperationException($"QEMU exited with code {instance.Exited.Result} at start: {instance.StderrTail}");
            }

            instance.Qmp = await connect;
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for the guest's ready line on the serial console.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var log = ReadSerialLog();
            if (log.Contains(ReadyMarker, StringComparison.Ordinal))
            {
                return;
            }

            if (Exited.IsCompleted)
            {
                throw new InvalidOperationException($"QEMU exited with code {Exited.Result} before the guest was ready: {StderrTail} {Tail(log)}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"guest not ready within {timeout}; serial log ends: {Tail(log)}");
            }

            await Task.WhenAny(Task.Delay(100, ct), Exited);
        }
    }

    public string ReadSerialLog()
    {
        try
        {
            using var f = new FileStream(SerialLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(f);
            return r.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }

    private static string Tail(string s) => s.Length > 400 ? s[^400..] : s;

    /// <summary>Asks QEMU to quit, kills it if it does not, and removes its directory (sockets, disk, logs).</summary>
    public async Task StopAsync(bool deleteDirectory = true)
    {
        Interlocked.Exchange(ref stopping, 1);
        if (!Exited.IsCompleted && Qmp is not null)
        {
            try
            {
                await Qmp.ExecuteAsync("quit", null, TimeSpan.FromSeconds(2));
            }
            catch (Exception e) when (e is QmpConnectionClosedException or QmpTimeoutException or QmpException or QmpProtocolException)
            {
                // QEMU drops the connection as it quits; anything else is handled by the kill below.
            }

            await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(3)));
        }

        await DisposeAsync();
        if (deleteDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Kills the process tree (if still alive) and releases the QMP connection; keeps files.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref stopping, 1);
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(5)));
        if (Qmp is not null)
        {
            await Qmp.DisposeAsync();
        }

        File.Delete(Path.Combine(Directory, "qmp.sock"));
        if (DataNic is not null && Exited.IsCompleted && Interlocked.Exchange(ref tapDeleted, 1) == 0)
        {
            // QEMU's exit removes its tap; delete it in case something else (a leftover process) still holds it.
            DataLinks.Delete(DataNic);
        }

        process.Dispose();
    }

    /// <summary>Kills QEMU processes left behind in <paramref name="siteDirectory"/> by a previous run that died (pidfiles).</summary>
    public static int KillLeftovers(string siteDirectory)
    {
        var killed = 0;
        if (!System.IO.Directory.Exists(siteDirectory))
        {
            return 0;
        }

        foreach (var pidfile in System.IO.Directory.EnumerateFiles(siteDirectory, "qemu.pid", SearchOption.AllDirectories))
        {
            if (!int.TryParse(File.ReadAllText(pidfile).Trim(), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
                if (cmdline.Contains("qemu-system", StringComparison.Ordinal) &&
                    cmdline.Contains(Path.GetDirectoryName(pidfile)!, StringComparison.Ordinal))
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill(entireProcessTree: true);
                    killed++;
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
            {
                // gone already
            }
        }

        return killed;
    }
}
