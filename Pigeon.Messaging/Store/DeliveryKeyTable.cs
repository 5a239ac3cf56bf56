using System.Security.Cryptography;
using Pigeon.Protocol.Delivery;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>delivery_keys</c>: delivery keys by account, this profile's own (under its own
/// account id), which it gives its contacts, and each contact's, with which it deposits to them sealed.
/// </summary>
internal sealed class DeliveryKeyTable(SealedTable table)
{
    /// <summary>The delivery key of <paramref name="accountId"/> (this profile's own, or a contact's), or null.</summary>
    public DeliveryKey? Load(string accountId)
    {
        if (table.Find(accountId) is not { } bytes)
        {
            return null;
        }

        try
        {
            return DeliveryKey.FromBytes(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Stores or replaces the delivery key of <paramref name="accountId"/>.</summary>
    public void Save(string accountId, DeliveryKey key)
    {
        var bytes = key.ToBytes();
        try
        {
            table.Put(accountId, bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Forgets the delivery key of <paramref name="accountId"/>.</summary>
    public void Delete(string accountId) => table.Delete(accountId);
}
