using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/MobiScud.Bench -- --filter '*'` runs every benchmark.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
