using System.Buffers.Binary;
using System.Text;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Primitives;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Devices;

/// <summary>One device of an account as its device list names it.</summary>
/// <param name="DeviceId">The device's id (1 for the first), part of its address.</param>
/// <param name="AddedAt">When the account added it (the adding device's clock).</param>
/// <param name="SigningKey">
/// The device's own Ed25519 public key (<see cref="DeviceKeyPair"/>), with which it signs in: the server
/// issues a device's token only to the holder of the key its signed list names, so a removed device,
/// which still knows the account identity, cannot read another device's mailbox without first
/// publishing a list that every contact sees grow.
/// </param>
public sealed record DeviceEntry(uint DeviceId, DateTimeOffset AddedAt, byte[] SigningKey)
{
    /// <summary>True when both name the same device with the same key.</summary>
    public bool Same(DeviceEntry other) =>
        other is not null && other.DeviceId == DeviceId && other.AddedAt == AddedAt && other.SigningKey.AsSpan().SequenceEqual(SigningKey);
}

/// <summary>
/// An account's devices, versioned and signed under the account's identity key, so the server that
/// stores and serves it cannot add a device (issue 16; stronger than Signal, where the server's word
/// is the device list). Senders check it with <see cref="Verify"/> and refuse a rollback with
/// <see cref="DeviceListTracker"/>. The list names no device by anything but its id and when it was
/// added. Signed encoding (integers big-endian):
/// <code>
/// "Pigeon/3/device-list\0" ‖ account id length (u32) ‖ account id (UTF-8) ‖ version (u64)
///   ‖ count (u32) ‖ count × (device id (u32) ‖ added at, Unix ms (i64) ‖ device signing key (32))
/// </code>
/// </summary>
public sealed class DeviceList
{
    /// <summary>The most devices an account may have (issue 16's default maximum).</summary>
    public const int DefaultMaxDevices = 6;

    private static readonly byte[] Label = Encoding.ASCII.GetBytes("Pigeon/3/device-list\0");

    /// <summary>A list of <paramref name="devices"/> (sorted here by id; ids distinct) at <paramref name="version"/>.</summary>
    /// <exception cref="ArgumentException">The ids repeat, or there are none.</exception>
    public DeviceList(string accountId, ulong version, IEnumerable<DeviceEntry> devices)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ArgumentNullException.ThrowIfNull(devices);
        Devices = [.. devices.OrderBy(d => d.DeviceId)];
        if (Devices.Count == 0 || Devices.Select(d => d.DeviceId).Distinct().Count() != Devices.Count || Devices.Any(d => d.DeviceId == 0))
        {
            throw new ArgumentException("A device list names at least one device, each by a distinct id above 0.", nameof(devices));
        }

        if (Devices.Any(d => d.SigningKey is not { Length: Ed25519Signer.PublicKeySize }))
        {
            throw new ArgumentException($"Each device's signing key is {Ed25519Signer.PublicKeySize} bytes.", nameof(devices));
        }

        AccountId = accountId;
        Version = version;
    }

    /// <summary>The account whose devices these are.</summary>
    public string AccountId { get; }

    /// <summary>Grows with every change; a list with a lower version than one already seen is a rollback.</summary>
    public ulong Version { get; }

    /// <summary>The devices, by id.</summary>
    public IReadOnlyList<DeviceEntry> Devices { get; }

    /// <summary>The next version with <paramref name="device"/> added.</summary>
    /// <exception cref="ArgumentException">The id is taken, or the list would exceed <paramref name="maxDevices"/>.</exception>
    public DeviceList With(DeviceEntry device, int maxDevices = DefaultMaxDevices)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (Devices.Count >= maxDevices)
        {
            throw new ArgumentException($"An account may have at most {maxDevices} devices.", nameof(device));
        }

        return new DeviceList(AccountId, Version + 1, [.. Devices, device]);
    }

    /// <summary>The device <paramref name="deviceId"/>, or null when the list does not name it.</summary>
    public DeviceEntry? Find(uint deviceId) => Devices.FirstOrDefault(d => d.DeviceId == deviceId);

    /// <summary>The lowest id above every id in this list: a new device's.</summary>
    public uint NextDeviceId() => Devices.Max(d => d.DeviceId) + 1;

    /// <summary>The next version without device <paramref name="deviceId"/>.</summary>
    public DeviceList Without(uint deviceId) => new(AccountId, Version + 1, Devices.Where(d => d.DeviceId != deviceId));

    /// <summary>
    /// True when <paramref name="signature"/> is the identity's over this list and the identity is the
    /// list's account (its keys derive to the account id).
    /// </summary>
    public bool Verify(PublicIdentity identity, ReadOnlySpan<byte> signature) =>
        identity is not null && identity.IsValidFor(AccountId) && Ed25519Signer.Verify(identity.SigningKey, SignedMessage(), signature);

    /// <summary>The bytes the identity signs (see the class summary).</summary>
    public byte[] SignedMessage()
    {
        var id = Encoding.UTF8.GetBytes(AccountId);
        var writer = new BlobWriter(Label.Length + 4 + id.Length + 8 + 4 + (Devices.Count * (12 + Ed25519Signer.PublicKeySize)));
        writer.WriteFixed(Label);
        writer.WriteVariable(id);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(number, Version);
        writer.WriteFixed(number);
        writer.WriteUInt32((uint)Devices.Count);
        foreach (var device in Devices)
        {
            writer.WriteUInt32(device.DeviceId);
            BinaryPrimitives.WriteInt64BigEndian(number, device.AddedAt.ToUnixTimeMilliseconds());
            writer.WriteFixed(number);
            writer.WriteFixed(device.SigningKey);
        }

        return writer.WrittenSpan.ToArray();
    }
}

/// <summary>What <see cref="DeviceListTracker.Accept"/> found in a contact's device list.</summary>
/// <param name="Added">Devices the list has that the last accepted one did not (to tell the user: "bob added a device on …").</param>
/// <param name="Removed">Devices it no longer has.</param>
public sealed record DeviceListChange(IReadOnlyList<DeviceEntry> Added, IReadOnlyList<DeviceEntry> Removed);

/// <summary>
/// The last device list accepted for one contact: a new one must verify under the contact's identity
/// and have a higher version, or be the same list again; anything else is refused, so a server cannot
/// roll a contact back to a list that still holds a removed device.
/// </summary>
public sealed class DeviceListTracker(PublicIdentity identity, DeviceList? accepted = null)
{
    /// <summary>The list in force, or null before the first.</summary>
    public DeviceList? Accepted { get; private set; } = accepted;

    /// <summary>Accepts a list the server served, with its signature.</summary>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.InvalidSignature"/> (not signed by the contact, or another account's list),
    /// <see cref="ProtocolError.RolledBack"/> (a lower version, or the same version with other devices).
    /// </exception>
    public DeviceListChange Accept(DeviceList list, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(list);
        if (!list.Verify(identity, signature))
        {
            throw new ProtocolException(ProtocolError.InvalidSignature, "The device list is not signed by the contact's identity.");
        }

        if (Accepted is { } known)
        {
            if (list.Version < known.Version || (list.Version == known.Version && !list.SignedMessage().AsSpan().SequenceEqual(known.SignedMessage())))
            {
                throw new ProtocolException(ProtocolError.RolledBack, $"The device list rolls back from version {known.Version} to {list.Version}.");
            }
        }

        var before = Accepted?.Devices ?? [];
        Accepted = list;
        return new DeviceListChange(
            [.. list.Devices.Where(d => !before.Any(b => b.Same(d)))],
            [.. before.Where(b => !list.Devices.Any(d => d.Same(b)))]);
    }
}
