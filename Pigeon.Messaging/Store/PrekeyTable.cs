using System.Security.Cryptography;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Messaging.Store;

/// <summary>The private prekey store (signed, retired, one-time and last-resort keys): one row of sealed table <c>profile</c>.</summary>
internal sealed class PrekeyTable(SealedTable table)
{
    private const string Key = "prekeys";

    /// <summary>The private prekey store.</summary>
    public PrekeyStore Load()
    {
        var blob = table.Find(Key) ?? throw new ProfileDamagedException(table.Name, new KeyNotFoundException("No prekeys."));
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
            table.Put(Key, blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }
}
