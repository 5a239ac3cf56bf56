using System.Security.Cryptography;
using Pigeon.Protocol.Delivery;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Table <c>delivery_keys</c>: delivery keys by account, sealed: the profile's own (under its own
/// account id), which it gives its contacts, and each contact's, with which it deposits to them sealed.
/// </summary>
internal sealed class DeliveryKeyTable(ProfileDatabase database)
{
    /// <summary>The delivery key of <paramref name="accountId"/> (this profile's own, or a contact's), or null.</summary>
    public DeliveryKey? Load(string accountId)
    {
        if (database.Scalar("SELECT key_sealed FROM delivery_keys WHERE account_id = $id", ("$id", accountId)) is not byte[] sealedKey)
        {
            return null;
        }

        var bytes = database.OpenSealed(sealedKey, Purpose(accountId));
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
            database.Execute(
                """
                INSERT INTO delivery_keys (account_id, key_sealed) VALUES ($id, $key)
                ON CONFLICT (account_id) DO UPDATE SET key_sealed = excluded.key_sealed
                """,
                ("$id", accountId), ("$key", database.Seal(bytes, Purpose(accountId))));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Forgets the delivery key of <paramref name="accountId"/>.</summary>
    public void Delete(string accountId) => database.Execute("DELETE FROM delivery_keys WHERE account_id = $id", ("$id", accountId));

    // Bound to the account: a key copied into another account's row does not open.
    private static string Purpose(string accountId) => "delivery-key:" + accountId;
}
