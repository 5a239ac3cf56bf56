using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Pigeon.Protocol.Benchmarks.SessionSetupBenchmarks).Assembly).Run(args);
