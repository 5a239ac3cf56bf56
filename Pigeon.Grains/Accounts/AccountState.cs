using Pigeon.Grains.Abstractions.Accounts;

namespace Pigeon.Grains.Accounts;

/// <summary>
/// An account's persisted state (Orleans grain storage): small and rarely written. One-time prekeys
/// are rows of their own (<see cref="OneTimePrekeyPool"/>), one pool per device. Persisted: keep the type's name and namespace stable.
/// </summary>
[GenerateSerializer, Alias("pigeon.account-state")]
public sealed class AccountState
{
    /// <summary>The registered identity keys; null until registration.</summary>
    [Id(0)]
    public IdentityKeys? Identity { get; set; }

    /// <summary>When the account was registered.</summary>
    [Id(1)]
    public DateTimeOffset RegisteredAt { get; set; }

    // Ids 2 and 3 held one device's signed prekeys before devices (issue 16); not reused.

    /// <summary>The one-way verifier of the current delivery key (Pigeon.Protocol's <c>DeliveryKeyVerifier</c>); null until one is set.</summary>
    [Id(4)]
    public byte[]? DeliveryKeyVerifier { get; set; }

    /// <summary>The epoch of the current delivery key.</summary>
    [Id(5)]
    public uint DeliveryKeyEpoch { get; set; }

    /// <summary>The device list as the owner signed it; null until one is set.</summary>
    [Id(6)]
    public SignedDeviceList? DeviceList { get; set; }

    /// <summary>Each device's current signed prekeys, by device id.</summary>
    [Id(7)]
    public Dictionary<uint, DevicePrekeys> Prekeys { get; set; } = [];

    /// <summary>The ids of devices the account removed: never active again, never reused.</summary>
    [Id(8)]
    public HashSet<uint> RemovedDevices { get; set; } = [];

    /// <summary>Removed devices whose prekey rows and mailbox may not be deleted yet (the deletion failed part-way); done on the next list.</summary>
    [Id(9)]
    public HashSet<uint> PurgePending { get; set; } = [];
}

/// <summary>One device's signed prekeys. Persisted: keep the type's name and namespace stable.</summary>
[GenerateSerializer, Alias("pigeon.device-prekeys")]
public sealed class DevicePrekeys
{
    /// <summary>The current signed X25519 prekey.</summary>
    [Id(0)]
    public Prekey? SignedPrekey { get; set; }

    /// <summary>The current signed last-resort ML-KEM-1024 prekey.</summary>
    [Id(1)]
    public Prekey? LastResortKemPrekey { get; set; }
}
