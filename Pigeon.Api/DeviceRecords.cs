namespace Pigeon.Api;

/// <summary>One device in a device list.</summary>
/// <param name="DeviceId">The device's id (above 0).</param>
/// <param name="AddedAt">When the account added it.</param>
/// <param name="SigningKey">The device's own Ed25519 public key, with which it signs in (<see cref="ApiLimits.PublicKeyBytes"/> bytes).</param>
public sealed record DeviceRecord(uint DeviceId, DateTimeOffset AddedAt, byte[] SigningKey);

/// <summary>
/// <c>PUT /v1/devices</c> and <c>GET /v1/accounts/{accountId}/devices</c>: an account's device list as
/// its identity signed it (Pigeon.Protocol's <c>DeviceList</c>). The server checks the signature and
/// that the version grows, and serves the list as stored; readers verify it themselves. A list that
/// leaves out a device removes it: its mailbox and prekeys are deleted, and it can no longer sign in.
/// </summary>
/// <param name="Version">Grows with every change.</param>
/// <param name="Devices">The devices.</param>
/// <param name="Signature">The identity's Ed25519 signature over the list's encoding.</param>
public sealed record DeviceListRecord(ulong Version, IReadOnlyList<DeviceRecord> Devices, byte[] Signature);

/// <summary>
/// How a deposit's devices for one account differ from the account's list: the problem extension
/// <c>devices</c> of a 409 (<see cref="ProblemTypes.DeviceMismatch"/>: <see cref="Missing"/> or
/// <see cref="Extra"/>) or a 410 (<see cref="ProblemTypes.DevicesStale"/>: <see cref="Stale"/> only).
/// Nothing of such a deposit is stored.
/// </summary>
/// <param name="AccountId">The account whose devices the deposit got wrong.</param>
/// <param name="Missing">Devices on the list that the deposit left out.</param>
/// <param name="Extra">Devices the deposit addressed that the account never had.</param>
/// <param name="Stale">Devices the deposit addressed that the account removed.</param>
public sealed record DeviceMismatch(string AccountId, IReadOnlyList<uint> Missing, IReadOnlyList<uint> Extra, IReadOnlyList<uint> Stale);

/// <summary>
/// <c>POST /v1/provisioning</c>: a new, empty provisioning slot. The new device shows its id (with its
/// own public key) as a link code, and waits at <c>GET /v1/provisioning/{slotId}</c> for what an
/// existing device of the account puts there, once, before <paramref name="ExpiresAt"/>.
/// </summary>
/// <param name="SlotId">The slot's random id.</param>
/// <param name="ExpiresAt">When the slot and anything in it are gone.</param>
public sealed record ProvisioningSlotResponse(Guid SlotId, DateTimeOffset ExpiresAt);

/// <summary>
/// <c>PUT /v1/provisioning/{slotId}</c> (an existing device, signed in) and the answer of
/// <c>GET /v1/provisioning/{slotId}</c> (the new device): what the existing device sends, encrypted to
/// a key only the new device holds. The server keeps it until it is taken once or the slot expires.
/// </summary>
/// <param name="Payload">The ciphertext (at most <see cref="ApiLimits.MaxProvisioningBytes"/> bytes).</param>
public sealed record ProvisioningMessage(byte[] Payload);
