namespace Pigeon.Api;

/// <summary>One device in a device list.</summary>
/// <param name="DeviceId">The device's id (above 0).</param>
/// <param name="AddedAt">When the account added it.</param>
public sealed record DeviceRecord(uint DeviceId, DateTimeOffset AddedAt);

/// <summary>
/// <c>PUT /v1/devices</c> and <c>GET /v1/accounts/{accountId}/devices</c>: an account's device list as
/// its identity signed it (Pigeon.Protocol's <c>DeviceList</c>). The server checks the signature and
/// that the version grows, and serves the list as stored; readers verify it themselves.
/// </summary>
/// <param name="Version">Grows with every change.</param>
/// <param name="Devices">The devices.</param>
/// <param name="Signature">The identity's Ed25519 signature over the list's encoding.</param>
public sealed record DeviceListRecord(ulong Version, IReadOnlyList<DeviceRecord> Devices, byte[] Signature);
