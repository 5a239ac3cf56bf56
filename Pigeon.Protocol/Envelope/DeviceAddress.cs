using System.Text;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Envelope;

/// <summary>
/// Where a message goes or comes from: an account and one of its devices (the account's signed list,
/// <see cref="Devices.DeviceList"/>, names them; docs/adr/0005-devices.md). Encoded as the account id's
/// 32 ASCII characters and the device id as a big-endian u32.
/// </summary>
public readonly record struct DeviceAddress(string AccountId, uint DeviceId)
{
    /// <summary>The device id of an account's first device, the one that created it.</summary>
    public const uint PrimaryDeviceId = 1;

    /// <summary>Size of the encoding.</summary>
    public const int EncodedSize = Identity.AccountId.Length + 4;

    /// <summary>The primary device of <paramref name="accountId"/>.</summary>
    public static DeviceAddress Primary(string accountId) => new(accountId, PrimaryDeviceId);

    /// <inheritdoc/>
    public override string ToString() => $"{AccountId}.{DeviceId}";

    /// <exception cref="ArgumentException">The account id is not well-formed or the device id is 0.</exception>
    internal void Validate(string parameterName)
    {
        if (!Identity.AccountId.IsWellFormed(AccountId) || DeviceId == 0)
        {
            throw new ArgumentException("An address is a well-formed account id and a device id from 1.", parameterName);
        }
    }

    internal void Write(BlobWriter writer)
    {
        writer.WriteFixed(Encoding.ASCII.GetBytes(AccountId));
        writer.WriteUInt32(DeviceId);
    }

    internal static DeviceAddress Read(ref BlobReader reader)
    {
        var accountId = Encoding.ASCII.GetString(reader.ReadFixed(Identity.AccountId.Length));
        var deviceId = reader.ReadUInt32();
        if (!Identity.AccountId.IsWellFormed(accountId) || deviceId == 0)
        {
            throw reader.Fail("not an address");
        }

        return new DeviceAddress(accountId, deviceId);
    }
}
