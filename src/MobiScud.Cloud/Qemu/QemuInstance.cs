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

    /// <summary>A detached QEMU's stderr and stdout (files: no pipe ties it to the process that started it).</summary>
    public const string StderrFile = "qemu.stderr";
    public const string StdoutFile = "qemu.stdout";
    public const string PidFile = "qemu.pid";

    private readonly Process? _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _watch = new();
    private readonly TimeProvider _time;
    private Task _watcher = Task.CompletedTask;
    private int _pid;
    private int _stopping;
    private int _tapDeleted;

    private QemuInstance(SiteId site, string directory, string diskPath, QemuPorts ports, PvmSpec spec, Process? process, int pid, bool detached, QemuDataNic? dataNic, TimeProvider? time)
    {
        _time = time ?? TimeProvider.System;
        Site = site;
        DataNic = dataNic;
        DiskPath = diskPath;
        Directory = directory;
        Ports = ports;
        Spec = spec;
        Detached = detached;
        _process = process;
        _pid = pid;
    }

    /// <summary>
    /// In its own session with stdio on files: survives the end of the process that started it, and is ended only by
    /// <see cref="StopAsync"/> or <see cref="DisposeAsync"/>, not by <see cref="DetachAsync"/>.
    /// </summary>
    public bool Detached { get; }

    public SiteId Site { get; }

    public string Directory { get; }

    public QemuPorts Ports { get; }

    public PvmSpec Spec { get; }

    /// <summary>The data-plane NIC (eth1 in the guest) on this instance's own tap; null without a data network.</summary>
    public QemuDataNic? DataNic { get; }

    public QmpClient Qmp { get; private set; } = null!;

    public int ProcessId => Volatile.Read(ref _pid);

    public string QmpSocket => Path.Combine(Directory, "qmp.sock");

    public string SerialLog => Path.Combine(Directory, "serial.log");

    /// <summary>The PVM's disk; outside <see cref="Directory"/> while a destination shares its source's disk.</summary>
    public string DiskPath { get; internal set; }

    /// <summary>Completes with QEMU's exit code when the process ends (expected or not).</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>True once <see cref="StopAsync"/> began: an exit from then on is not a crash.</summary>
    public bool Stopping => Volatile.Read(ref _stopping) != 0;

    public string StderrTail => Tail((Detached ? ReadShared(Path.Combine(Directory, StderrFile)) : CapturedStderr()).Trim(), 600);

    /// <summary>
    /// QEMU's command line. With <paramref name="dataNic"/>, a second virtio-net on its tap (after the disk, so the
    /// guest sees it as eth1) and <paramref name="dataKernelArguments"/> on the kernel line. A migration destination
    /// gets the same device layout, MAC and kernel line as its source (QEMU requires identical devices).
    /// </summary>
    public static IReadOnlyList<string> BuildArguments(
        GuestImage image, string directory, string diskPath, QemuPorts ports, PvmSpec spec, bool incoming,
        QemuDataNic? dataNic = null, string? dataKernelArguments = null)
    {
        // no_timer_check: the kernel's IO-APIC timer check counts ticks in a fixed busy loop; a TCG vCPU starved by a
        // loaded host misses them and the guest panics at boot ("IO-APIC + timer doesn't work", seen under load).
        var append = "console=ttyS0 quiet panic=-1 pti=on no_timer_check" + (spec.DirtyMiB > 0 ? $" mobiscud.dirty={spec.DirtyMiB}" : "") +
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
            "-pidfile", Path.Combine(directory, PidFile),
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
        QemuDataNic? dataNic = null, string? dataKernelArguments = null, bool detached = false, TimeProvider? time = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var disk = sharedDisk ?? Path.Combine(directory, "disk.raw");
        if (!File.Exists(disk))
        {
            // A zeroed disk: the guest formats it on first boot; a destination's copy is filled by the mirror.
            await using var f = new FileStream(disk, FileMode.CreateNew);
            f.SetLength((long)spec.DiskMiB * 1024 * 1024);
        }

        var arguments = BuildArguments(image, directory, disk, ports, spec, incoming, dataNic, dataKernelArguments);
        if (detached)
        {
            var starter = StartDetached(qemuBinary, arguments, directory);
            return await new QemuInstance(site, directory, disk, ports, spec, starter, starter.Id, detached: true, dataNic, time).ConnectAsync(ct);
        }

        var psi = new ProcessStartInfo(qemuBinary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        var p = ToolProcess.Start(psi, arguments, $"{qemuBinary} (apt-get install -y qemu-system-x86)");
        p.EnableRaisingEvents = true;
        var instance = new QemuInstance(site, directory, disk, ports, spec, p, p.Id, detached: false, dataNic, time);
        p.Exited += (_, _) => instance._exited.TrySetResult(ExitCodeOf(p, p.Id));
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (instance._stderr)
                {
                    if (instance._stderr.Length < 64 * 1024)
                    {
                        instance._stderr.AppendLine(e.Data);
                    }
                }
            }
        };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        if (p.HasExited)
        {
            instance._exited.TrySetResult(p.ExitCode);
        }

        return await instance.ConnectAsync(ct);
    }

    /// <summary>
    /// Starts QEMU in a session of its own (setsid) with stdin from /dev/null and stdout/stderr appended to files in the
    /// directory, so neither a signal to the starter's process group nor the starter's death (its pipes closing) reaches
    /// it. The pid is QEMU's own pidfile's (written before QMP listens).
    /// </summary>
    private static Process StartDetached(string qemuBinary, IReadOnlyList<string> arguments, string directory)
    {
        File.Delete(Path.Combine(directory, PidFile));
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = directory };

        // exec all the way: sh becomes setsid becomes QEMU (setsid forks only when already a group leader; the pidfile covers that).
        return ToolProcess.Start(
            psi, ["-c", $"exec setsid \"$0\" \"$@\" </dev/null >>{StdoutFile} 2>>{StderrFile}", qemuBinary, .. arguments], $"{qemuBinary} through /bin/sh and setsid");
    }

    /// <summary>
    /// Connects QMP unless QEMU exits first (a detached start's starter may end while the QEMU it forked, whose pidfile
    /// exists, lives on); a detached QEMU is watched by its pidfile's pid from then on. On failure the instance is disposed.
    /// </summary>
    private async Task<QemuInstance> ConnectAsync(CancellationToken ct)
    {
        try
        {
            var connect = QmpClient.ConnectUnixAsync(QmpSocket, TimeSpan.FromSeconds(20), ct, _time);
            var died = Detached ? _process!.WaitForExitAsync(ct) : Exited;
            if (await Task.WhenAny(connect, died) != connect && !(Detached && File.Exists(Path.Combine(Directory, PidFile))))
            {
                await died;
                throw new InvalidOperationException($"QEMU exited with code {ExitCodeOf(_process, _process!.Id)} at start: {StderrTail}");
            }

            Qmp = await connect;
            if (Detached)
            {
                Volatile.Write(ref _pid, ReadPid(Directory) ?? ProcessId);
                StartWatching();
            }

            return this;
        }
        catch
        {
            if (Detached)
            {
                StartWatching();
            }

            await DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Reattaches to a detached QEMU a previous process started (its manifest): checks the pid is that QEMU, connects QMP
    /// (QEMU takes a new client once the old one is gone) and watches the process from here on.
    /// </summary>
    public static async Task<QemuInstance> AdoptAsync(QemuManifest m, TimeSpan timeout, CancellationToken ct, TimeProvider? time = null)
    {
        if (!IsInstanceProcess(m.Pid, m.Directory))
        {
            throw new InvalidOperationException($"pid {m.Pid} is not the QEMU of {m.Directory}");
        }

        QemuDataNic? nic = null;
        if (m.DataNic is { } n && System.Net.IPAddress.TryParse(n.Address, out var address) &&
            System.Net.NetworkInformation.PhysicalAddress.TryParse(n.Mac.Replace(':', '-'), out var mac))
        {
            nic = new QemuDataNic(n.Tap, address, mac, new QemuDataBridge(n.Bridge, n.Namespace));
        }

        var instance = new QemuInstance(new SiteId(m.Site), m.Directory, m.DiskPath, m.Ports, new PvmSpec(m.MemoryMiB, m.DiskMiB, m.DirtyMiB), null, m.Pid, detached: true, nic, time);
        instance.Qmp = await QmpClient.ConnectUnixAsync(m.QmpSocket, timeout, ct, instance._time);
        instance.StartWatching();
        return instance;
    }

    /// <summary>True when <paramref name="pid"/> is alive (not a zombie) and its command line names <paramref name="directory"/>'s pidfile.</summary>
    public static bool IsInstanceProcess(int pid, string directory)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces or parentheses).
            var close = stat.LastIndexOf(')');
            if (close < 0 || close + 2 >= stat.Length || stat[close + 2] is 'Z' or 'X')
            {
                return false;
            }

            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(Path.Combine(directory, PidFile) + "\0", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static int? ReadPid(string directory)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(directory, PidFile)).Trim(), out var p) && p > 0 ? p : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Kills the QEMU whose pidfile is in <paramref name="directory"/>, if it really is that QEMU; true if one was killed.</summary>
    public static bool KillByPidFile(string directory) => ReadPid(directory) is { } pid && KillInstanceProcess(pid, directory);

    /// <summary>Kills <paramref name="pid"/> if it is the QEMU of <paramref name="directory"/> (it may not be our child); true if it was.</summary>
    public static bool KillInstanceProcess(int pid, string directory)
    {
        if (!IsInstanceProcess(pid, directory))
        {
            return false;
        }

        try
        {
            using var proc = Process.GetProcessById(pid);
            proc.Kill();
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// A detached QEMU may not be this process's child: its exit is noticed by polling /proc (and at once when QMP drops).
    /// Exit codes of such processes are unknown (-1).
    /// </summary>
    private void StartWatching()
    {
        var token = _watch.Token;

        // Awaited by DetachAsync and DisposeAsync, after they cancel it.
        _watcher = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                if (!IsInstanceProcess(ProcessId, Directory))
                {
                    _exited.TrySetResult(ExitCodeOf(_process, ProcessId));
                    return;
                }

                var closed = Qmp?.Closed ?? Task.Delay(Timeout.InfiniteTimeSpan, _time, token);
                try
                {
                    await Task.WhenAny(Task.Delay(TimeSpan.FromMilliseconds(250), _time, token), closed);
                    if (closed.IsCompleted)
                    {
                        // The connection dropped; the process goes away a moment later (or was detached on purpose).
                        await Task.Delay(TimeSpan.FromMilliseconds(50), _time, token);
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    /// <summary>The exit code of <paramref name="process"/> if it has ended and is QEMU <paramref name="pid"/> (not a starter that exec'd it), else -1.</summary>
    private static int ExitCodeOf(Process? process, int pid)
    {
        try
        {
            return process is { HasExited: true } && process.Id == pid ? process.ExitCode : -1;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    /// <summary>Lets a detached QEMU run on: closes QMP and stops watching it, keeps its files (the manifest says how to come back).</summary>
    public async Task DetachAsync()
    {
        Interlocked.Exchange(ref _stopping, 1);
        await _watch.CancelAsync();
        await _watcher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (Qmp is not null)
        {
            await Qmp.DisposeAsync();
        }

        _process?.Dispose();
    }

    private static string ReadShared(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(f);
            return r.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>query-status of this QEMU, or null when it does not answer (gone, refused, garbled).</summary>
    internal async Task<VmRunStatus?> TryQueryStatusAsync(CancellationToken ct = default)
    {
        try
        {
            return await Qmp.SendAsync(new QueryStatus(), TimeSpan.FromSeconds(10), ct);
        }
        catch (Exception e) when (e.IsQmpFailure() || e is IOException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Waits for the guest's ready line on the serial console.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var log = ReadSerialLog();

            // The whole line: the serial console writes it a few characters at a time, and what follows the marker
            // (the data NIC's address) is read by the caller.
            var at = log.IndexOf(ReadyMarker, StringComparison.Ordinal);
            if (at >= 0 && log.IndexOf('\n', at) >= 0)
            {
                return;
            }

            if (Exited.IsCompleted)
            {
                throw new InvalidOperationException($"QEMU exited with code {Exited.Result} before the guest was ready: {StderrTail} {Tail(log)}");
            }

            if (_time.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"guest not ready within {timeout}; serial log ends: {Tail(log)}");
            }

            await Task.WhenAny(Task.Delay(TimeSpan.FromMilliseconds(100), _time, ct), Exited);
        }
    }

    public string ReadSerialLog() => ReadShared(SerialLog);

    private static string Tail(string s, int length = 400) => s.Length > length ? s[^length..] : s;

    private string CapturedStderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    /// <summary>Asks QEMU to quit, kills it if it does not, and removes its directory (sockets, disk, logs).</summary>
    public async Task StopAsync(bool deleteDirectory = true)
    {
        Interlocked.Exchange(ref _stopping, 1);
        if (!Exited.IsCompleted && Qmp is not null)
        {
            // QEMU drops the connection as it quits; anything else is handled by the kill below.
            await Qmp.TrySendAsync(new Quit(), TimeSpan.FromSeconds(2));
            await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(3), _time));
        }

        await DisposeAsync();
        if (deleteDirectory)
        {
            DeleteDirectory(Directory);
        }
    }

    /// <summary>Removes an instance directory with everything in it; one that is gone or cannot go is left as it is.</summary>
    internal static void DeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Kills the process tree (if still alive) and releases the QMP connection; keeps files.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _stopping, 1);
        if (Detached)
        {
            // Not (necessarily) a child: kill by pid, after checking the pid is still this instance's QEMU.
            KillInstanceProcess(ProcessId, Directory);
        }
        else
        {
            try
            {
                if (!_process!.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }

        await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(5), _time));
        await _watch.CancelAsync();
        await _watcher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (Qmp is not null)
        {
            await Qmp.DisposeAsync();
        }

        File.Delete(QmpSocket);
        if (DataNic is not null && Exited.IsCompleted && Interlocked.Exchange(ref _tapDeleted, 1) == 0)
        {
            // QEMU's exit removes its tap; delete it in case something else (a leftover process) still holds it.
            DataLinks.Delete(DataNic);
        }

        _process?.Dispose();
    }

    /// <summary>Kills QEMU processes left behind in <paramref name="siteDirectory"/> by a previous run that died (pidfiles).</summary>
    public static int KillLeftovers(string siteDirectory) =>
        System.IO.Directory.Exists(siteDirectory)
            ? System.IO.Directory.EnumerateFiles(siteDirectory, PidFile, SearchOption.AllDirectories).Count(f => KillByPidFile(Path.GetDirectoryName(f)!))
            : 0;
}
