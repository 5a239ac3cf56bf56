namespace Pigeon.Grains.Abstractions.Health;

/// <summary>Answers at once from any silo: a gateway's readiness check that the cluster is reachable.</summary>
[Alias("pigeon.ping")]
public interface IPingGrain : IGrainWithIntegerKey
{
    /// <summary>Returns the current time at the silo that answered.</summary>
    [Alias("ping")]
    Task<DateTimeOffset> PingAsync();
}
