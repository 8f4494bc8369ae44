using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/MobiScud.Bench -- --filter '*'` runs every benchmark.
if (args is ["policy-walk", ..])
{
    MobiScud.Bench.PolicyWalk.Run(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 300);
    return;
}

if (args is ["oracle", var scenario])
{
    MobiScud.Bench.OracleCost.Run(scenario);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
