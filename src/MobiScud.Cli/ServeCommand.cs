using System.CommandLine;
using MobiScud.Bench.Support;
using MobiScud.Hosting;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MobiScud.Cli;

/// <summary>`mobiscud serve`: the MC as a long-running service (Orleans silo, REST API, metrics); `--bench` measures it.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "appsettings file (.json, .yaml or .yml); keys under MobiScud:, see docs/hosting.md" };
        var storage = new Option<string?>("--storage") { Description = "grain storage and clustering: memory (default, single silo), redis or postgres" };
        var redis = new Option<string?>("--redis") { Description = "Redis endpoint for --storage redis, e.g. localhost:6379" };
        var postgres = new Option<string?>("--postgres") { Description = "Npgsql connection string for --storage postgres, e.g. \"Host=localhost;Database=mobiscud;Username=mobiscud;Password=...\" (tables created if missing)" };
        var bench = new Option<bool>("--bench") { Description = "run the throughput benchmark instead of serving" };
        var ues = new Option<int>("--ues") { Description = "bench: UEs", DefaultValueFactory = _ => 10_000 };
        var handovers = new Option<int>("--handovers") { Description = "bench: handovers per UE", DefaultValueFactory = _ => 10 };
        var silos = new Option<int>("--silos") { Description = "bench: silos in this process (1 or 2)", DefaultValueFactory = _ => 1 };
        var load = new Option<double>("--load") { Description = "bench: the latency phase paces the tap at this share of the measured saturation rate", DefaultValueFactory = _ => 0.5 };
        var command = new Command("serve", "Run the MC as a service: taps -> ordered pipeline -> Orleans UE grains -> hypervisor/switch adapters; REST API, MEC 021/012 notifications, /metrics")
        {
            config, storage, redis, postgres, bench, ues, handovers, silos, load,
        };

        // Any other --MobiScud:Key=value goes to the configuration as it is.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(bench))
            {
                return await ServeBench.RunAsync(parse.GetValue(ues), parse.GetValue(handovers), Math.Clamp(parse.GetValue(silos), 1, 2), Console.Out, ct, Math.Clamp(parse.GetValue(load), 0.01, 1.0),
                    parse.GetValue(storage), parse.GetValue(redis) ?? parse.GetValue(postgres));
            }

            var args = new List<string>(parse.UnmatchedTokens);
            if (parse.GetValue(storage) is { } s)
            {
                args.Add($"--MobiScud:Storage:Kind={s}");
            }

            if (parse.GetValue(redis) is { } r)
            {
                args.Add($"--MobiScud:Storage:Redis={r}");
            }

            if (parse.GetValue(postgres) is { } pg)
            {
                args.Add($"--MobiScud:Storage:Postgres={pg}");
            }

            try
            {
                await using var app = ServeHost.Build([.. args], parse.GetValue(config)?.FullName);
                await ServePreflight.CheckAsync(app.Services.GetRequiredService<IOptions<MobiScudOptions>>().Value, ct);
                await app.StartAsync(ct);
                Console.Error.WriteLine($"mobiscud serve: listening on {string.Join(", ", app.Urls)}");
                await app.WaitForShutdownAsync(ct);
                if (ServeHost.FatalError(app.Services) is { } fatal)
                {
                    // Not a requested stop: a supervisor set to restart on failure must see one.
                    Console.Error.WriteLine($"mobiscud serve: stopped on a fatal error: {fatal}");
                    return 1;
                }

                return 0;
            }
            catch (OptionsValidationException e)
            {
                // One line per bad key, each complete on its own (log collectors keep lines apart).
                foreach (var failure in e.Failures)
                {
                    Console.Error.WriteLine($"mobiscud serve: bad configuration: {failure}");
                }

                return 2;
            }
            catch (StorageUnavailableException e)
            {
                Console.Error.WriteLine($"mobiscud serve: {e.Message}");
                return 3;
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                // Free at the preflight, taken by the time Kestrel bound it.
                Console.Error.WriteLine($"mobiscud serve: {e.Message}");
                return 3;
            }
            catch (Microsoft.AspNetCore.Connections.AddressInUseException e)
            {
                Console.Error.WriteLine($"mobiscud serve: a silo port ({MobiScudOptions.Section}:Silo:SiloPort or GatewayPort) was taken while starting: {e.Message}");
                return 3;
            }
            catch (StackExchange.Redis.RedisConnectionException e)
            {
                // Reachable at the preflight, gone when the silo connected.
                Console.Error.WriteLine($"mobiscud serve: Redis ({MobiScudOptions.Section}:Storage:Redis) became unreachable while starting: {e.Message}");
                return 3;
            }
            catch (FileNotFoundException e)
            {
                Console.Error.WriteLine($"mobiscud serve: {e.Message}");
                return 2;
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"mobiscud serve: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
