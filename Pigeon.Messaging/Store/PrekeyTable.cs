using System.Security.Cryptography;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Messaging.Store;

/// <summary>Table <c>prekeys</c>, one row: the sealed private prekey store (signed, retired, one-time and last-resort keys).</summary>
internal sealed class PrekeyTable(ProfileDatabase database)
{
    private const string Purpose = "prekeys";

    /// <summary>The private prekey store.</summary>
    public PrekeyStore Load()
    {
        var blob = database.OpenSealed((byte[])database.Scalar("SELECT store_sealed FROM prekeys WHERE id = 1")!, Purpose);
        try
        {
            return PrekeyStore.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Replaces the stored prekeys (after any generation, rotation or use).</summary>
    public void Save(PrekeyStore prekeys)
    {
        var blob = prekeys.Serialize();
        try
        {
            database.Execute("INSERT INTO prekeys (id, store_sealed) VALUES (1, $blob) ON CONFLICT (id) DO UPDATE SET store_sealed = excluded.store_sealed",
                ("$blob", database.Seal(blob, Purpose)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }
}
