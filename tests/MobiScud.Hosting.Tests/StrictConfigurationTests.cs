using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// The CLI as a child process: configuration it cannot use exactly as written (appsettings YAML, command line) is exit
/// 2 with one line per bad key naming it, and no stack trace; before, the binder dropped it silently.
/// </summary>
public sealed class StrictConfigurationTests(ITestOutputHelper output)
{
    private static readonly string _cli = Path.Combine(AppContext.BaseDirectory, "mobiscud.dll");

    private async Task<ExternalTool.Result> Run(params string[] args)
    {
        var r = await ExternalTool.RunAsync("dotnet", [_cli, .. args], TimeSpan.FromMinutes(2));
        output.WriteLine($"exit {r.ExitCode}\n{r.StdErr}{r.StdOut}");
        Assert.DoesNotContain("   at ", r.StdErr + r.StdOut);
        return r;
    }

    private static string Yaml(string text)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mobiscud-config-").FullName, "appsettings.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Misspelt_keys_and_values_the_binder_would_drop_are_errors_naming_each_key()
    {
        var config = Yaml("""
            MobiScud:
              Api:
                Token: 0123456789abcdef0123
                Tokn: x
                Certifcate: /etc/cert.pem
                Port: [1, 2]
              Sites:
                - Name: a
                  Enbs: [abc]
              Taps:
                - Pcap: x.pcap
                  Speed: Maximum
            """);
        var r = await Run("serve", "--config", config);
        Assert.Equal(2, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("MobiScud:Api:Tokn: unknown key (did you mean Token?)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("MobiScud:Api:Certifcate: unknown key (did you mean Certificate?)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("MobiScud:Api:Port takes one", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("MobiScud:Sites:0:Enbs:0: 'abc' is not", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("MobiScud:Taps:0:Speed: 'Maximum' is not one of Recorded, Max", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.StartsWith("mobiscud serve: bad configuration: ", l));
    }

    [Fact]
    public async Task A_yaml_complex_key_and_deep_nesting_are_one_clean_line_with_the_place()
    {
        var complex = Yaml("MobiScud:\n  ? [a]\n  : c\n");
        var r = await Run("serve", "--config", complex);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{complex}:2:5: a key must be a plain name, not a list", r.StdErr);

        var deep = Yaml("a: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        r = await Run("serve", "--config", deep);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("YAML nested deeper than 64 levels", r.StdErr);
    }

    [Fact]
    public async Task Command_line_values_are_checked_like_files()
    {
        var r = await Run("serve", "--token", "0123456789abcdef0123", "--MobiScud:Api:Tokn=x", "--MobiScud:Pipeline:Partitions=many");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("MobiScud:Api:Tokn: unknown key", r.StdErr);
        Assert.Contains("MobiScud:Pipeline:Partitions: 'many' is not a number", r.StdErr);

        // Before: cast to a ushort, 70000 became port 4464.
        r = await Run("replay", "--sctp-udp-port", "70000", TestData.Capture("open5gs_testepc_2019.pcapng"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--sctp-udp-port 70000 is not a UDP port (1-65535)", r.StdErr);
    }
}
