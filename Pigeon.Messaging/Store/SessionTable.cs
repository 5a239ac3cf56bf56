using System.Security.Cryptography;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>sessions</c>: per device of a contact (by the keyed hash of its address), its
/// <see cref="SessionRecord"/> (the current session, which sends, and up to
/// <see cref="SessionRecord.MaxArchivedSessions"/> earlier ones, which still decrypt).
/// </summary>
internal sealed class SessionTable(SealedTable table)
{
    /// <summary>The session record with one device, or null.</summary>
    public SessionRecord? Load(DeviceAddress device)
    {
        if (table.Find(device.ToString()) is not { } blob)
        {
            return null;
        }

        try
        {
            return SessionRecord.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Stores a device's record (after every encrypt and decrypt); the one it replaces is overwritten.</summary>
    public void Save(DeviceAddress device, SessionRecord record)
    {
        var blob = record.Serialize();
        try
        {
            table.Put(device.ToString(), blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>The devices of <paramref name="accountId"/> we hold a session record with.</summary>
    public List<uint> DevicesOf(string accountId) => [.. Addresses().Where(a => a.AccountId == accountId).Select(a => a.DeviceId).Order()];

    /// <summary>Forgets the sessions with every device of an account.</summary>
    public void Delete(string accountId)
    {
        foreach (var device in DevicesOf(accountId))
        {
            table.Delete(new DeviceAddress(accountId, device).ToString());
        }
    }

    /// <summary>Forgets the sessions with one device (it left its account).</summary>
    public void Delete(DeviceAddress device) => table.Delete(device.ToString());

    /// <summary>
    /// Forgets the records of accounts that are neither a contact nor a pending request (a removed
    /// contact's, or a stranger's that nothing refers to); returns how many.
    /// </summary>
    public int DeleteStrangers(ISet<string> known)
    {
        var deleted = 0;
        foreach (var address in Addresses())
        {
            if (!known.Contains(address.AccountId) && table.Delete(address.ToString()))
            {
                deleted++;
            }
        }

        return deleted;
    }

    private IEnumerable<DeviceAddress> Addresses()
    {
        foreach (var (key, value) in table.All())
        {
            CryptographicOperations.ZeroMemory(value);
            var dot = key.LastIndexOf('.');
            if (dot > 0 && uint.TryParse(key.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var device))
            {
                yield return new DeviceAddress(key[..dot], device);
            }
        }
    }
}
