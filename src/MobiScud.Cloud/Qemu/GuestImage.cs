using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace MobiScud.Cloud.Qemu;

/// <summary>A built PVM guest: a Debian cloud kernel and the busybox initramfs running the user's services.</summary>
public sealed record GuestImage(string Kernel, string Initrd, string KernelVersion, string Directory);

/// <summary>
/// Builds the guest from Debian packages (apt-get download of the cloud kernel, busybox-static) with
/// guest/build-image.sh, cached under a directory named after the hash of the recipe and kernel package, so
/// reruns are instant and a changed recipe rebuilds.
/// </summary>
public static class GuestImageBuilder
{
    public const string ScriptResource = "MobiScud.Cloud.Qemu.guest.build-image.sh";

    /// <summary>~/.cache/mobiscud/guest, or $MOBISCUD_GUEST_CACHE.</summary>
    public static string DefaultCacheRoot =>
        Environment.GetEnvironmentVariable("MOBISCUD_GUEST_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mobiscud", "guest");

    private static readonly SemaphoreSlim _buildLock = new(1, 1);

    public static string Script()
    {
        using var s = typeof(GuestImageBuilder).Assembly.GetManifestResourceStream(ScriptResource)
                      ?? throw new InvalidOperationException($"resource {ScriptResource} missing from {typeof(GuestImageBuilder).Assembly.GetName().Name}");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>
    /// The kernel package: $MOBISCUD_GUEST_KERNEL_PACKAGE, else what Debian's linux-image-cloud-amd64 meta-package
    /// depends on now (apt-cache depends).
    /// </summary>
    public static async Task<string> ResolveKernelPackageAsync(CancellationToken ct = default)
    {
        if (Environment.GetEnvironmentVariable("MOBISCUD_GUEST_KERNEL_PACKAGE") is { Length: > 0 } pkg)
        {
            return pkg;
        }

        for (var attempt = 0; ; attempt++)
        {
            var (code, stdout, stderr) = await RunAsync("apt-cache", ["depends", "linux-image-cloud-amd64"], null, TimeSpan.FromSeconds(60), ct);
            foreach (var line in stdout.Split('\n'))
            {
                var t = line.Trim();
                if (t.StartsWith("Depends: linux-image-", StringComparison.Ordinal))
                {
                    return t["Depends: ".Length..].Trim();
                }
            }

            // A fresh machine (CI container) may have no package lists yet; as root, fetch them once.
            if (attempt == 0 && Environment.UserName == "root")
            {
                await RunAsync("apt-get", ["update", "-qq"], null, TimeSpan.FromMinutes(3), ct);
                continue;
            }

            throw new InvalidOperationException(
                $"cannot find the Debian cloud kernel package: `apt-cache depends linux-image-cloud-amd64` exited {code} ({stderr.Trim()}); run `apt-get update`, or set MOBISCUD_GUEST_KERNEL_PACKAGE");
        }
    }

    /// <summary>Returns the cached image for the current recipe, building it first if needed.</summary>
    public static async Task<GuestImage> EnsureAsync(string? cacheRoot = null, CancellationToken ct = default)
    {
        cacheRoot ??= DefaultCacheRoot;
        var script = Script();
        var package = await ResolveKernelPackageAsync(ct);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(script + "\n" + package)))[..16];
        var dir = Path.Combine(cacheRoot, hash);
        var image = Load(dir);
        if (image is not null)
        {
            return image;
        }

        await _buildLock.WaitAsync(ct);
        try
        {
            image = Load(dir);
            if (image is not null)
            {
                return image;
            }

            // Build into a scratch directory and rename, so a half-built image is never used (even by another process).
            System.IO.Directory.CreateDirectory(cacheRoot);
            var scratch = Path.Combine(cacheRoot, $"{hash}.tmp-{Environment.ProcessId}");
            if (System.IO.Directory.Exists(scratch))
            {
                System.IO.Directory.Delete(scratch, true);
            }

            System.IO.Directory.CreateDirectory(scratch);
            var scriptPath = Path.Combine(scratch, "build-image.sh");
            await File.WriteAllTextAsync(scriptPath, script, ct);
            var (code, stdout, stderr) = await RunAsync("sh", [scriptPath, scratch, package], scratch, TimeSpan.FromMinutes(5), ct);
            if (code != 0)
            {
                System.IO.Directory.Delete(scratch, true);
                throw new InvalidOperationException($"guest image build (kernel {package}) failed with exit code {code}: {stderr.Trim()} {stdout.Trim()}");
            }

            try
            {
                System.IO.Directory.Move(scratch, dir);
            }
            catch (IOException) when (Load(dir) is not null)
            {
                System.IO.Directory.Delete(scratch, true); // another process won the race
            }

            return Load(dir) ?? throw new InvalidOperationException($"guest image build wrote no kernel/initrd to {dir}");
        }
        finally
        {
            _buildLock.Release();
        }
    }

    private static GuestImage? Load(string dir)
    {
        var kernel = Path.Combine(dir, "vmlinuz");
        var initrd = Path.Combine(dir, "initrd.gz");
        var version = Path.Combine(dir, "kernel-version");
        return File.Exists(kernel) && File.Exists(initrd) && File.Exists(version)
            ? new GuestImage(kernel, initrd, File.ReadAllText(version).Trim(), dir)
            : null;
    }

    private static async Task<(int Code, string StdOut, string StdErr)> RunAsync(
        string file, string[] args, string? cwd, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (cwd is not null)
        {
            psi.WorkingDirectory = cwd;
        }

        using (var p = ToolProcess.Start(psi, args, file))
        {
            var o = p.StandardOutput.ReadToEndAsync(ct);
            var e = p.StandardError.ReadToEndAsync(ct);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            try
            {
                await p.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
            }

            return (p.ExitCode, await o, await e);
        }
    }
}
