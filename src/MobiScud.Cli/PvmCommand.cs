using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using MobiScud.Cloud.Net;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;

namespace MobiScud.Cli;

/// <summary>`mobiscud pvm boot|migrate|bench`: real PVMs under QEMU, live-migrated between sites on this machine.</summary>
internal static class PvmCommand
{
    private static readonly Option<string> _policyOption = new("--policy") { Description = "Base migration policy: defaults (QEMU's own) or tuned", DefaultValueFactory = _ => "tuned" };
    private static readonly Option<int?> _bandwidthOption = new("--bandwidth") { Description = "max-bandwidth in MiB/s" };
    private static readonly Option<int?> _downtimeOption = new("--downtime") { Description = "downtime-limit in ms" };
    private static readonly Option<bool> _autoConvergeOption = new("--auto-converge") { Description = "throttle a guest that dirties memory too fast" };
    private static readonly Option<bool> _xbzrleOption = new("--xbzrle") { Description = "send deltas of re-dirtied pages" };
    private static readonly Option<int> _multifdOption = new("--multifd") { Description = "parallel migration channels (0 = off)" };
    private static readonly Option<string?> _compressionOption = new("--compression") { Description = "multifd compression: none, zlib, zstd" };
    private static readonly Option<bool> _noMirrorOption = new("--no-mirror") { Description = "do not mirror the PVM's disk (memory only)" };
    private static readonly Option<int> _memoryOption = new("--memory") { Description = "guest RAM in MiB (>= 96)", DefaultValueFactory = _ => 128 };
    private static readonly Option<int> _dirtyOption = new("--dirty") { Description = "MiB the guest keeps rewriting", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> _diskOption = new("--disk") { Description = "PVM disk size in MiB", DefaultValueFactory = _ => 32 };
    private static readonly Option<int> _portOption = new("--first-port") { Description = "first loopback port of the sites", DefaultValueFactory = _ => 24000 };
    private static readonly Option<string?> _dirOption = new("--dir") { Description = "where the sites keep their PVMs (default: a temp dir, removed at exit)" };

    public static Command Create()
    {
        var command = new Command("pvm", "Personal VMs under QEMU: boot one, live-migrate it between sites, benchmark migration policies");
        command.Subcommands.Add(Boot());
        command.Subcommands.Add(Migrate());
        command.Subcommands.Add(Bench());
        return command;
    }

    private static MigrationPolicy PolicyFrom(ParseResult r)
    {
        var name = r.GetValue(_policyOption) ?? "tuned";
        var p = name switch
        {
            "defaults" => MigrationPolicy.QemuDefaults,
            "tuned" => MigrationPolicy.Tuned,
            _ => throw new ArgumentException($"--policy: unknown policy '{name}' (defaults, tuned)"),
        };
        if (r.GetValue(_bandwidthOption) is { } bw)
        {
            p = p with { MaxBandwidthBytesPerSecond = (long)bw * 1024 * 1024 };
        }

        if (r.GetValue(_downtimeOption) is { } dl)
        {
            p = p with { DowntimeLimit = TimeSpan.FromMilliseconds(dl) };
        }

        var compression = r.GetValue(_compressionOption);
        if (compression is not (null or "none" or "zlib" or "zstd"))
        {
            throw new ArgumentException($"--compression: '{compression}' is not none, zlib or zstd");
        }

        return p with
        {
            AutoConverge = p.AutoConverge || r.GetValue(_autoConvergeOption),
            Xbzrle = p.Xbzrle || r.GetValue(_xbzrleOption),
            MultifdChannels = r.GetValue(_multifdOption),
            MultifdCompression = compression,
            MirrorDisk = !r.GetValue(_noMirrorOption),
        };
    }

    private static void AddPolicyOptions(Command c)
    {
        foreach (var o in new Option[] { _policyOption, _bandwidthOption, _downtimeOption, _autoConvergeOption, _xbzrleOption, _multifdOption, _compressionOption, _noMirrorOption, CliLogging.Level })
        {
            c.Options.Add(o);
        }
    }

    private static void AddGuestOptions(Command c)
    {
        foreach (var o in new Option[] { _memoryOption, _dirtyOption, _diskOption, _portOption, _dirOption })
        {
            c.Options.Add(o);
        }
    }

    private static Command Boot()
    {
        var c = new Command("boot", "Boot one PVM at a site and keep it until Ctrl+C; prints its forwarded service ports");
        AddGuestOptions(c);
        c.Options.Add(CliLogging.Level);
        c.SetAction(async (r, ct) =>
        {
            await using var lab = await Lab.CreateAsync(r, 1, MigrationPolicy.Tuned, ct);
            var ue = new UeId("cli");
            var info = await lab.BootAsync(ue, 0, ct);
            Console.WriteLine($"PVM {info.Status.Pvm} running at {info.Status.Site}, QEMU pid {info.ProcessId}");
            Console.WriteLine($"  echo 127.0.0.1:{info.Ports.Echo}  key-value 127.0.0.1:{info.Ports.KeyValue} (PUT k v | GET k | DGET k | TOKEN)  token 127.0.0.1:{info.Ports.Token}");
            Console.WriteLine($"  serial log {info.SerialLog}; Ctrl+C stops it");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }

            return 0;
        });
        return c;
    }

    private static Command Migrate()
    {
        var hops = new Option<int>("--hops") { Description = "migrations in a row, site to site", DefaultValueFactory = _ => 2 };
        var c = new Command("migrate", "Boot a PVM, write user state, live-migrate it through sites and check the state on each");
        AddGuestOptions(c);
        AddPolicyOptions(c);
        c.Options.Add(hops);
        c.SetAction(async (r, ct) =>
        {
            var policy = PolicyFrom(r);
            var n = r.GetValue(hops);
            await using var lab = await Lab.CreateAsync(r, Math.Min(n + 1, 3), policy, ct);
            var ue = new UeId("cli");
            var info = await lab.BootAsync(ue, 0, ct);
            var token = await Guest.RequestAsync(info.Ports.KeyValue, "TOKEN", ct);
            await Guest.RequestAsync(info.Ports.KeyValue, "PUT note written-before-migration", ct);
            Console.WriteLine($"booted at {info.Status.Site}: {token}; policy {policy}");
            for (var hop = 1; hop <= n; hop++)
            {
                var report = await lab.MigrateAsync(ue, hop, ct);
                info = lab.Hypervisor.Describe(PvmId.For(ue))!;
                var t = await Guest.RequestAsync(info.Ports.KeyValue, "TOKEN", ct);
                var mem = await Guest.RequestAsync(info.Ports.KeyValue, "GET note", ct);
                var disk = await Guest.RequestAsync(info.Ports.KeyValue, "DGET note", ct);
                Console.WriteLine(
                    $"hop {hop} {report.From}->{report.To}: {(report.Succeeded ? "ok" : "FAILED " + report.FailureReason)} wall {report.WallTime.TotalMilliseconds:F0} ms " +
                    $"(mirror {report.MirrorTime.TotalMilliseconds:F0} ms, {report.DiskBytes / 1048576.0:F1} MiB), memory {report.QemuTotalTime.TotalMilliseconds:F0} ms, " +
                    $"downtime {report.Downtime.TotalMilliseconds:F0} ms, {report.RamBytes / 1048576.0:F1} MiB in {report.Rounds} rounds; " +
                    $"token {(t == token ? "same" : "CHANGED")}, memory {mem}, disk {disk}");
                if (!report.Succeeded || t != token)
                {
                    return 1;
                }
            }

            return 0;
        });
        return c;
    }

    private static Command Bench()
    {
        var count = new Option<int>("--count") { Description = "migrations per configuration", DefaultValueFactory = _ => 10 };
        var sizes = new Option<string>("--sizes") { Description = "guest RAM sizes in MiB", DefaultValueFactory = _ => "128,256" };
        var hot = new Option<string>("--hot") { Description = "hot-set sizes in MiB (0 = idle)", DefaultValueFactory = _ => "0,16" };
        var configs = new Option<string>("--configs") { Description = "policies compared: defaults, tuned, or the one given by the policy options (custom)", DefaultValueFactory = _ => "defaults,tuned" };
        var mirror = new Option<bool>("--mirror-effect") { Description = "also run the tuned policy without the disk mirror", DefaultValueFactory = _ => true };
        var dataNet = new Option<bool>("--data-net")
        {
            Description = "give the PVM a data NIC on a Linux bridge per site (namespaces, needs root) and ping it every 10 ms from a client at " +
                          "both sites during each migration: adds pings lost and the longest gap to the table",
        };
        var c = new Command("bench", "Compare migration policies on real guests: total time, downtime and MiB sent over many migrations");
        c.Options.Add(count);
        c.Options.Add(sizes);
        c.Options.Add(hot);
        c.Options.Add(configs);
        c.Options.Add(mirror);
        c.Options.Add(dataNet);
        c.Options.Add(_portOption);
        c.Options.Add(_dirOption);
        c.Options.Add(_diskOption);
        AddPolicyOptions(c);
        c.SetAction(async (r, ct) =>
        {
            var n = r.GetValue(count);
            var policies = new List<(string Name, MigrationPolicy Policy)>();
            foreach (var name in r.GetValue(configs)!.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                policies.Add(name switch
                {
                    "defaults" => ("qemu-defaults", MigrationPolicy.QemuDefaults),
                    "tuned" => ("tuned", MigrationPolicy.Tuned),
                    "custom" => ("custom", PolicyFrom(r)),
                    _ => throw new ArgumentException($"--configs: unknown '{name}' (defaults, tuned, custom)"),
                });
            }

            if (r.GetValue(mirror))
            {
                policies.Add(("tuned-no-mirror", MigrationPolicy.Tuned with { MirrorDisk = false }));
            }

            var rows = new List<string>();
            var withData = r.GetValue(dataNet);
            Console.WriteLine("| config | RAM MiB | hot MiB | n | total ms med/max (wall) | memory ms med/max | downtime ms med/max | MiB sent med/max | non-zero MiB | sent/non-zero | mirror ms med | rounds med |" +
                              (withData ? " pings lost, steered at completion, med/max | longest gap ms med/max | pings lost, either site, med/max |" : ""));
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|" + (withData ? "---|---|---|" : ""));
            foreach (var mem in ParseList(r.GetValue(sizes)!, "--sizes"))
            {
                foreach (var h in ParseList(r.GetValue(hot)!, "--hot"))
                {
                    foreach (var (name, policy) in policies)
                    {
                        if (name == "tuned-no-mirror" && h != 0)
                        {
                            continue; // the mirror's effect is shown on idle guests
                        }

                        var row = await BenchOneAsync(r, name, policy, mem, h, n, withData, ct);
                        Console.WriteLine(row);
                        rows.Add(row);
                    }
                }
            }

            return 0;
        });
        return c;
    }

    private static async Task<string> BenchOneAsync(ParseResult r, string name, MigrationPolicy policy, int memMiB, int hotMiB, int n, bool withData, CancellationToken ct)
    {
        // Declared first so it is torn down last, after every QEMU holding a tap on its bridges.
        using var bridges = withData ? BridgeLab.Create($"qb{Environment.ProcessId}", 2) : null;
        await using var lab = await Lab.CreateAsync(r, 2, policy, ct, new PvmSpec(memMiB, r.GetValue(_diskOption), hotMiB), bridges);
        var ue = new UeId($"bench-{memMiB}-{hotMiB}");
        var info = await lab.BootAsync(ue, 0, ct);
        var address = info.DataNic?.Address;
        if (address is not null)
        {
            bridges!.AddNeighbor(address);
        }

        var losses = new List<PingLoss>();
        await Guest.RequestAsync(info.Ports.KeyValue, "PUT bench 1", ct);
        if (hotMiB > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(3), ct); // let the dirtying loop fill its hot set
        }

        var nonZero = await lab.Hypervisor.MeasureNonZeroMemoryAsync(PvmId.For(ue), ct);
        var reports = new List<QemuMigrationReport>();
        var failures = 0;
        for (var i = 1; i <= n; i++)
        {
            QemuMigrationReport report;
            if (address is not null)
            {
                PingLoss loss;
                (report, loss) = await MigratePingingAsync(lab, bridges!, ue, address, i, ct);
                losses.Add(loss);
            }
            else
            {
                report = await lab.MigrateAsync(ue, i, ct);
            }

            if (report.Succeeded)
            {
                reports.Add(report);
            }
            else
            {
                failures++;
                Console.Error.WriteLine($"  {name} {memMiB}/{hotMiB}: migration {i} failed: {report.FailureReason}");
            }
        }

        var pings = withData
            ? $" {MedMax(losses.Select(x => (double)x.Steered))} | {MedMax(losses.Select(x => x.LongestGap.TotalMilliseconds))} | {MedMax(losses.Select(x => (double)x.Either))} |"
            : "";
        var sentMiB = reports.Select(x => x.RamBytes / 1048576.0).ToList();
        var nzMiB = nonZero / 1048576.0;
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name}{(failures > 0 ? $" ({failures} failed)" : "")} | {memMiB} | {hotMiB} | {reports.Count} | " +
            $"{MedMax(reports.Select(x => x.WallTime.TotalMilliseconds))} | {MedMax(reports.Select(x => x.QemuTotalTime.TotalMilliseconds))} | " +
            $"{MedMax(reports.Select(x => x.Downtime.TotalMilliseconds))} | {MedMax(sentMiB, "F1")} | {nzMiB:F1} | " +
            $"{(sentMiB.Count > 0 ? Median(sentMiB) / nzMiB : double.NaN):F2} | {Median(reports.Select(x => x.MirrorTime.TotalMilliseconds).ToList()):F0} | " +
            $"{Median(reports.Select(x => (double)x.Rounds).ToList()):F0} |{pings}");
    }

    /// <summary>Pings lost during one migration (10 ms ticks from StartMigration until the destination answered 20 ticks).</summary>
    /// <param name="Steered">Ticks unanswered when pings go to the source until MigrationCompleted and to the destination after (as the MC steers).</param>
    /// <param name="Either">Ticks neither site answered.</param>
    /// <param name="LongestGap">Longest run of steered losses, in ms of ticks.</param>
    private sealed record PingLoss(int Steered, int Either, TimeSpan LongestGap);

    private static async Task<(QemuMigrationReport Report, PingLoss Loss)> MigratePingingAsync(Lab lab, BridgeLab bridges, UeId ue, IPAddress address, int sequence, CancellationToken ct)
    {
        var interval = TimeSpan.FromMilliseconds(10);
        var from = lab.Sites.IndexOf(lab.Hypervisor.Describe(PvmId.For(ue))!.Status.Site);
        var to = (from + 1) % lab.Sites.Count;
        await using var probe = new IcmpProbe(address, [.. bridges.Sites.Select(s => IcmpProbe.OpenSource(s.ClientNamespace))], interval);
        probe.Start();
        await WaitAsync(() => probe.Samples().Count(s => s.AnsweredAt(from)) >= 10, $"{address} answering at {lab.Sites[from]}", ct);
        var started = probe.Elapsed;
        var completed = TimeSpan.Zero;
        var report = await lab.MigrateAsync(ue, sequence, ct, () => completed = probe.Elapsed);
        if (report.Succeeded)
        {
            await WaitAsync(() => probe.Samples().Count(s => s.AnsweredAt(to) && s.SentAt > completed) >= 20, $"{address} answering at {lab.Sites[to]}", ct);
        }

        await probe.StopAsync(TimeSpan.FromMilliseconds(500));
        var during = probe.Samples().Where(s => s.SentAt >= started).ToList();
        var steeredLost = during.Select(s => !(s.SentAt < completed ? s.AnsweredAt(from) : s.AnsweredAt(to))).ToList();
        int longest = 0, run = 0;
        foreach (var lost in steeredLost)
        {
            run = lost ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return (report, new PingLoss(steeredLost.Count(x => x), during.Count(s => s.RepliedAt is null), longest * interval));
    }

    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30);
        while (!condition())
        {
            if (TimeProvider.System.GetUtcNow().UtcDateTime > deadline)
            {
                throw new TimeoutException($"gave up after 30 s waiting for {what}");
            }

            await Task.Delay(20, ct);
        }
    }

    private static List<int> ParseList(string s, string option) =>
        [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.TryParse(x, out var v) && v >= 0 ? v : throw new ArgumentException($"{option}: '{x}' is not a size in MiB"))];

    private static string MedMax(IEnumerable<double> values, string format = "F0")
    {
        var list = values.ToList();
        return list.Count == 0 ? "-" : $"{Median(list).ToString(format, CultureInfo.InvariantCulture)} / {list.Max().ToString(format, CultureInfo.InvariantCulture)}";
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>A QEMU hypervisor with sites in a directory; disposing it stops every guest.</summary>
    private sealed class Lab : IAsyncDisposable
    {
        private readonly string _root;
        private readonly bool _removeRoot;
        private readonly List<QemuMigrationReport> _reports = [];
        private readonly ILoggerFactory _loggers;

        private Lab(string root, bool removeRoot, QemuHypervisor hypervisor, List<SiteId> sites, ILoggerFactory loggers)
        {
            _root = root;
            _removeRoot = removeRoot;
            _loggers = loggers;
            Hypervisor = hypervisor;
            Sites = sites;
            hypervisor.MigrationReported += rep =>
            {
                lock (_reports)
                {
                    _reports.Add(rep);
                }
            };
        }

        public QemuHypervisor Hypervisor { get; }

        public List<SiteId> Sites { get; }

        public static async Task<Lab> CreateAsync(ParseResult r, int siteCount, MigrationPolicy policy, CancellationToken ct, PvmSpec? spec = null, BridgeLab? bridges = null)
        {
            Console.Error.WriteLine("preparing the guest image (cached after the first build) ...");
            var image = await GuestImageBuilder.EnsureAsync(ct: ct);
            var dir = r.GetValue(_dirOption);
            var root = dir ?? Directory.CreateTempSubdirectory("mobiscud-pvm-").FullName;
            var loggers = CliLogging.Create(r);
            var h = new QemuHypervisor(new QemuHypervisorOptions
            {
                Logger = loggers.CreateLogger<QemuHypervisor>(),
                Image = image,
                Policy = policy,
                DefaultSpec = spec ?? new PvmSpec(r.GetValue(_memoryOption), r.GetValue(_diskOption), r.GetValue(_dirtyOption)),
                DataNetwork = bridges?.Network,
            });
            var sites = new List<SiteId>();
            var first = r.GetValue(_portOption);
            for (var i = 0; i < siteCount; i++)
            {
                var id = new SiteId($"site-{(char)('a' + i)}");
                h.AddSite(new QemuSite(id, Path.Combine(root, id.Value), first + (i * 20), 20) { DataBridge = bridges?.Sites[i].DataBridge });
                sites.Add(id);
            }

            return new Lab(root, dir is null, h, sites, loggers);
        }

        public async Task<QemuPvmInfo> BootAsync(UeId ue, int site, CancellationToken ct)
        {
            var pvm = PvmId.For(ue);
            await Hypervisor.ExecuteAsync(new CreatePvm(ue, pvm, Sites[site]), ct);
            while (true)
            {
                var e = await Hypervisor.Events.ReadAsync(ct);
                if (e is PvmStarted s && s.Pvm == pvm)
                {
                    return Hypervisor.Describe(pvm)!;
                }

                if (e is PvmFailed f)
                {
                    throw new InvalidOperationException($"PVM failed to boot: {f.Reason}");
                }
            }
        }

        /// <summary>Migrates to the next site (round robin) and returns QEMU's report.</summary>
        /// <param name="onOutcome">Called the moment MigrationCompleted/Failed arrives (before the source is tidied up).</param>
        public async Task<QemuMigrationReport> MigrateAsync(UeId ue, int sequence, CancellationToken ct, Action? onOutcome = null)
        {
            var pvm = PvmId.For(ue);
            var from = Hypervisor.Describe(pvm)?.Status.Site ?? throw new InvalidOperationException($"{pvm} is gone");
            var to = Sites[(Sites.IndexOf(from) + 1) % Sites.Count];
            var id = new MigrationId(ue, sequence);
            await Hypervisor.ExecuteAsync(new StartMigration(ue, id, pvm, from, to, MigrationReason.Manual), ct);
            while (true)
            {
                var e = await Hypervisor.Events.ReadAsync(ct);
                if (e is MigrationCompleted c && c.Migration == id || e is MigrationFailed f && f.Migration == id)
                {
                    onOutcome?.Invoke();
                    // The report follows MigrationCompleted once the source side is tidied up.
                    for (var i = 0; i < 600; i++)
                    {
                        lock (_reports)
                        {
                            if (_reports.LastOrDefault(x => x.Migration == id) is { } report)
                            {
                                return report;
                            }
                        }

                        await Task.Delay(50, ct);
                    }

                    throw new TimeoutException($"no migration report for {id} within 30 s of its outcome");
                }

                if (e is PvmFailed pf)
                {
                    throw new InvalidOperationException($"PVM failed during migration: {pf.Reason}");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Hypervisor.DisposeAsync();
            if (_removeRoot)
            {
                Directory.Delete(_root, true);
            }

            _loggers.Dispose();
        }
    }

    private static class Guest
    {
        public static async Task<string> RequestAsync(int port, string line, CancellationToken ct)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var c = new TcpClient();
                    using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    cts.CancelAfter(TimeSpan.FromSeconds(10));
                    await c.ConnectAsync("127.0.0.1", port, cts.Token);
                    var s = c.GetStream();
                    await s.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), cts.Token);
                    using var reader = new StreamReader(s, Encoding.ASCII);
                    var reply = await reader.ReadLineAsync(cts.Token);
                    if (!string.IsNullOrEmpty(reply))
                    {
                        return reply;
                    }
                }
                catch (Exception e) when ((e is SocketException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested)) && attempt < 50)
                {
                }

                if (attempt >= 50)
                {
                    throw new IOException($"guest service on port {port} does not answer '{line}'");
                }

                await Task.Delay(200, ct);
            }
        }
    }
}
