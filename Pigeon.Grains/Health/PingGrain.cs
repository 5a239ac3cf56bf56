using Orleans.Concurrency;
using Pigeon.Grains.Abstractions.Health;

namespace Pigeon.Grains.Health;

/// <summary>A stateless worker, so a ping is answered by a local activation of whichever silo receives it.</summary>
[StatelessWorker]
internal sealed class PingGrain(TimeProvider time) : Grain, IPingGrain
{
    public Task<DateTimeOffset> PingAsync() => Task.FromResult(time.GetUtcNow());
}
