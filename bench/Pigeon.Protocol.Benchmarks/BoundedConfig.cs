using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Pigeon.Protocol.Benchmarks;

/// <summary>A bounded run: in process, one launch, short iterations, so a whole class takes about a minute.</summary>
internal sealed class BoundedConfig : ManualConfig
{
    public BoundedConfig() => AddJob(Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(3)
        .WithIterationCount(8)
        .WithIterationTime(TimeInterval.FromMilliseconds(150)));
}
