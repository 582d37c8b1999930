using BenchmarkDotNet.Running;

// `dotnet run -c Release -- --filter '*'` runs everything; `--list flat` lists the benchmarks.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
