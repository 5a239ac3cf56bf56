namespace Pigeon.Tests.Database;

/// <summary>What a probe grain persists.</summary>
[GenerateSerializer]
[Alias("Pigeon.Tests.Database.ProbeState")]
public sealed class ProbeState
{
    /// <summary>The stored value.</summary>
    [Id(0)]
    public string? Value { get; set; }
}

/// <summary>A probe grain's view of its persisted state.</summary>
[GenerateSerializer]
[Alias("Pigeon.Tests.Database.ProbeSnapshot")]
public sealed record ProbeSnapshot(
    [property: Id(0)] string? Value,
    [property: Id(1)] string? ETag,
    [property: Id(2)] bool RecordExists);

/// <summary>Drives Orleans' grain storage from a test.</summary>
[Alias("Pigeon.Tests.Database.IStorageProbe")]
public interface IStorageProbe : IGrain
{
    /// <summary>Sets the value and writes the state.</summary>
    [Alias("Write")]
    Task WriteAsync(string value);

    /// <summary>The state as this activation holds it.</summary>
    [Alias("Read")]
    Task<ProbeSnapshot> ReadAsync();

    /// <summary>Clears the state in storage.</summary>
    [Alias("Clear")]
    Task ClearAsync();

    /// <summary>Deactivates after this call, so the next call reads storage afresh.</summary>
    [Alias("Deactivate")]
    Task DeactivateAsync();
}

/// <summary>A probe keyed by string: the key travels as GrainIdExtensionString.</summary>
[Alias("Pigeon.Tests.Database.INamedStorageProbeGrain")]
public interface INamedStorageProbeGrain : IStorageProbe, IGrainWithStringKey;

/// <summary>A probe keyed by integer: GrainIdExtensionString is NULL, and clearing deletes the row.</summary>
[Alias("Pigeon.Tests.Database.INumberedStorageProbeGrain")]
public interface INumberedStorageProbeGrain : IStorageProbe, IGrainWithIntegerKey;

public abstract class StorageProbeGrain(IPersistentState<ProbeState> state) : Grain, IStorageProbe
{
    public Task WriteAsync(string value)
    {
        state.State.Value = value;
        return state.WriteStateAsync();
    }

    public Task<ProbeSnapshot> ReadAsync() => Task.FromResult(new ProbeSnapshot(state.State.Value, state.Etag, state.RecordExists));

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public sealed class NamedStorageProbeGrain(
    [PersistentState("probe", OrleansOnPostgresFixture.StorageName)] IPersistentState<ProbeState> state)
    : StorageProbeGrain(state), INamedStorageProbeGrain;

public sealed class NumberedStorageProbeGrain(
    [PersistentState("probe", OrleansOnPostgresFixture.DeletingStorageName)] IPersistentState<ProbeState> state)
    : StorageProbeGrain(state), INumberedStorageProbeGrain;
