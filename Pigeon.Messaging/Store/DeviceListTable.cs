using Pigeon.Protocol.Devices;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>device_lists</c>: per account (our own and each peer's), the device list last
/// accepted under its identity, with its signature (so a rollback is caught against it) and the
/// highest device id the account ever had (so no id is given out twice).
/// </summary>
internal sealed class DeviceListTable(SealedTable table)
{
    /// <summary>The accepted list of <paramref name="accountId"/>, or null when none was accepted yet.</summary>
    public (DeviceList List, byte[] Signature, uint HighestDeviceId)? Load(string accountId)
    {
        if (table.Find(accountId) is not { } blob)
        {
            return null;
        }

        var stored = StoreJson.Read<StoredDeviceList>(blob, table.Name);
        var list = new DeviceList(accountId, stored.Version,
            stored.Devices.Select(d => new DeviceEntry(d.DeviceId, DateTimeOffset.FromUnixTimeMilliseconds(d.AddedAt), d.SigningKey)));
        return (list, stored.Signature, stored.HighestDeviceId);
    }

    /// <summary>Stores an accepted list (the caller verified it).</summary>
    public void Save(DeviceList list, byte[] signature)
    {
        var highest = Math.Max(Load(list.AccountId)?.HighestDeviceId ?? 0, list.Devices.Max(d => d.DeviceId));
        table.Put(list.AccountId, StoreJson.Write(new StoredDeviceList(list.Version,
            [.. list.Devices.Select(d => new StoredDevice(d.DeviceId, d.AddedAt.ToUnixTimeMilliseconds(), d.SigningKey))], signature, highest)));
    }

    /// <summary>Forgets an account's list.</summary>
    public void Delete(string accountId) => table.Delete(accountId);
}
