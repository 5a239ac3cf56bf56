namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>One device as an account's signed device list names it.</summary>
/// <param name="DeviceId">The device's id (above 0).</param>
/// <param name="AddedAt">When the account added it.</param>
/// <param name="SigningKey">The device's own Ed25519 public key, with which it signs in (Pigeon.Protocol's <c>DeviceKeyPair</c>).</param>
[GenerateSerializer, Immutable, Alias("pigeon.device-slot")]
public sealed record DeviceSlot([property: Id(0)] uint DeviceId, [property: Id(1)] DateTimeOffset AddedAt, [property: Id(2)] byte[] SigningKey);

/// <summary>
/// An account's device list as its owner signed it (Pigeon.Protocol's <c>DeviceList</c>): the server
/// stores and serves it, and the account grain refuses one its identity did not sign.
/// </summary>
/// <param name="Version">Grows with every change.</param>
/// <param name="Devices">The devices.</param>
/// <param name="Signature">The identity's Ed25519 signature over the list's encoding.</param>
[GenerateSerializer, Immutable, Alias("pigeon.signed-device-list")]
public sealed record SignedDeviceList([property: Id(0)] ulong Version, [property: Id(1)] IReadOnlyList<DeviceSlot> Devices, [property: Id(2)] byte[] Signature);

/// <summary>A device list whose version is not above the stored one: a replay or a rollback.</summary>
[GenerateSerializer, Alias("pigeon.device-list-stale")]
public sealed class DeviceListStaleException : Exception
{
    public DeviceListStaleException() : base("The device list is not newer than the stored one.") { }

    public DeviceListStaleException(string message) : base(message) { }

    public DeviceListStaleException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>A device its account removed from its list: it can no longer sign in, deposit, receive or upload keys.</summary>
[GenerateSerializer, Alias("pigeon.device-removed")]
public sealed class DeviceRemovedException : Exception
{
    public DeviceRemovedException() : base("The device was removed from its account.") { }

    public DeviceRemovedException(string message) : base(message) { }

    public DeviceRemovedException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Where a device stands on its account's list.</summary>
public enum DeviceStanding
{
    /// <summary>On the current list, or device 1 of an account that has stored no list.</summary>
    Active,

    /// <summary>On an earlier list (or device 1 before the first list) but not on the current one; its id is never reused.</summary>
    Removed,

    /// <summary>Never on any list of the account.</summary>
    Unknown,
}

/// <summary>What a sign-in of one device is checked against (<see cref="IAccountGrain.GetDeviceSignInAsync"/>).</summary>
/// <param name="Identity">The account's identity keys.</param>
/// <param name="Standing">Where the device stands.</param>
/// <param name="SigningKey">
/// The key its list names for an active device; null for device 1 of an account without a list, which
/// signs in with the identity key.
/// </param>
[GenerateSerializer, Immutable, Alias("pigeon.device-sign-in")]
public sealed record DeviceSignIn([property: Id(0)] IdentityKeys Identity, [property: Id(1)] DeviceStanding Standing, [property: Id(2)] byte[]? SigningKey);

/// <summary>
/// How the devices a deposit addresses for one account differ from the account's list (all empty when
/// they match): <paramref name="Missing"/> are on the list but not addressed, <paramref name="Extra"/>
/// were never on any list, <paramref name="Stale"/> were removed.
/// </summary>
[GenerateSerializer, Immutable, Alias("pigeon.device-check")]
public sealed record DeviceCheck([property: Id(0)] IReadOnlyList<uint> Missing, [property: Id(1)] IReadOnlyList<uint> Extra, [property: Id(2)] IReadOnlyList<uint> Stale)
{
    /// <summary>True when the addressed devices are exactly the expected ones.</summary>
    public bool Matches => Missing.Count == 0 && Extra.Count == 0 && Stale.Count == 0;
}
