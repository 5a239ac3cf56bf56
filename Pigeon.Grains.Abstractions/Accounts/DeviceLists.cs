namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>One device as an account's signed device list names it.</summary>
/// <param name="DeviceId">The device's id (above 0).</param>
/// <param name="AddedAt">When the account added it.</param>
[GenerateSerializer, Immutable, Alias("pigeon.device-slot")]
public sealed record DeviceSlot([property: Id(0)] uint DeviceId, [property: Id(1)] DateTimeOffset AddedAt);

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
