namespace Pigeon.Grains.Abstractions.Provisioning;

/// <summary>
/// A provisioning slot for linking a device (issue 16), keyed by its random id: a new device opens it,
/// an existing device of the account puts one encrypted message in it, once, and the new device takes
/// it, once. The slot lives in the activation's memory only, for minutes: nothing of it is ever
/// written to the database, and a silo lost meanwhile drops the open slots on it (the user links
/// again). An expired, spent or never-opened slot answers <see cref="ProvisioningOutcome.NotFound"/>.
/// The payload is ciphertext the server cannot read; it is never logged.
/// </summary>
[Alias("pigeon.provisioning")]
public interface IProvisioningGrain : IGrainWithGuidKey
{
    /// <summary>Opens the slot for <paramref name="lifetime"/>; returns when it expires, or that it was open already (an id drawn twice).</summary>
    [Alias("open")]
    Task<ProvisioningSlot> OpenAsync(TimeSpan lifetime);

    /// <summary>Puts the message in an open slot: <see cref="ProvisioningOutcome.Stored"/>, or <see cref="ProvisioningOutcome.Used"/> when it already holds one.</summary>
    [Alias("put")]
    Task<ProvisioningOutcome> PutAsync(byte[] payload);

    /// <summary>
    /// Takes the message, waiting up to <paramref name="wait"/> for one to be put; the slot is then
    /// spent. <see cref="ProvisioningTake.Outcome"/> is <see cref="ProvisioningOutcome.Empty"/> when the
    /// wait (or <paramref name="cancellationToken"/>) ended first.
    /// </summary>
    [Alias("take")]
    Task<ProvisioningTake> TakeAsync(TimeSpan wait, CancellationToken cancellationToken = default);
}

/// <summary>What became of a provisioning call.</summary>
public enum ProvisioningOutcome
{
    /// <summary>The slot is unknown, expired or spent.</summary>
    NotFound,

    /// <summary>The message is stored.</summary>
    Stored,

    /// <summary>The slot already holds a message.</summary>
    Used,

    /// <summary>The wait ended with nothing in the slot.</summary>
    Empty,

    /// <summary>The message was taken; the slot is spent.</summary>
    Taken,
}

/// <summary>A slot just opened.</summary>
/// <param name="Opened">False when the id was open already (then nothing changed).</param>
/// <param name="ExpiresAt">When it and anything in it are gone.</param>
[GenerateSerializer, Immutable, Alias("pigeon.provisioning-slot")]
public sealed record ProvisioningSlot([property: Id(0)] bool Opened, [property: Id(1)] DateTimeOffset ExpiresAt);

/// <summary>The answer of <see cref="IProvisioningGrain.TakeAsync"/>.</summary>
/// <param name="Outcome"><see cref="ProvisioningOutcome.Taken"/>, <see cref="ProvisioningOutcome.Empty"/> or <see cref="ProvisioningOutcome.NotFound"/>.</param>
/// <param name="Payload">The message, when taken.</param>
[GenerateSerializer, Immutable, Alias("pigeon.provisioning-take")]
public sealed record ProvisioningTake([property: Id(0)] ProvisioningOutcome Outcome, [property: Id(1)] byte[]? Payload);
