using System.Security.Cryptography;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Storage;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Table <c>profile</c>, one row: the account, its server and name, the public identity, the sealed
/// private identity, the key-derivation parameters of an encrypted profile, and when the signed
/// prekey was last rotated.
/// </summary>
internal sealed class ProfileTable(ProfileDatabase database)
{
    private const string IdentityPurpose = "identity";

    /// <summary>True when the schema exists and holds the profile row.</summary>
    public bool Exists() =>
        database.Scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'profile'") is not null
        && database.Scalar("SELECT 1 FROM profile WHERE id = 1") is not null;

    /// <summary>Writes the row of a new identity, with its key-derivation parameters when encrypted.</summary>
    public void Insert(
        string server, string displayName, IdentityKeyPair identity, DateTimeOffset now,
        (byte[] Salt, PassphraseKeyParameters Parameters, byte[] KeyCheck)? encryption)
    {
        var identityBlob = identity.Serialize();
        try
        {
            database.Execute(
                """
                INSERT INTO profile (id, account_id, server, display_name, public_identity, identity_sealed,
                    kdf_salt, kdf_memory_kib, kdf_iterations, key_check, signed_prekey_rotated_at, created_at)
                VALUES (1, $id, $server, $name, $public, $identity, $salt, $memory, $iterations, $check, $now, $now)
                """,
                ("$id", identity.AccountId), ("$server", server), ("$name", displayName),
                ("$public", identity.PublicIdentity.ToBytes()), ("$identity", database.Seal(identityBlob, IdentityPurpose)),
                ("$salt", encryption?.Salt), ("$memory", encryption?.Parameters.MemoryKiB), ("$iterations", encryption?.Parameters.Iterations),
                ("$check", encryption?.KeyCheck), ("$now", now.ToUnixTimeMilliseconds()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(identityBlob);
        }
    }

    /// <summary>The profile's public facts.</summary>
    public ProfileRow Read() => database.Query(
        "SELECT account_id, server, display_name, public_identity, created_at, signed_prekey_rotated_at, kdf_salt FROM profile WHERE id = 1",
        reader => new ProfileRow(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), PublicIdentity.FromBytes((byte[])reader[3]),
            ProfileDatabase.FromMs(reader.GetInt64(4)), ProfileDatabase.FromMs(reader.GetInt64(5)), !reader.IsDBNull(6))).Single();

    /// <summary>The salt, cost and key check of an encrypted profile; null when it is not encrypted.</summary>
    public (byte[] Salt, PassphraseKeyParameters Parameters, byte[] KeyCheck)? Encryption() => database.Query(
        "SELECT kdf_salt, kdf_memory_kib, kdf_iterations, key_check FROM profile WHERE id = 1",
        reader => reader.IsDBNull(0)
            ? ((byte[], PassphraseKeyParameters, byte[])?)null
            : ((byte[])reader[0], new PassphraseKeyParameters(reader.GetInt64(1), reader.GetInt64(2)), (byte[])reader[3])).Single();

    /// <summary>The private identity; dispose it after use.</summary>
    public IdentityKeyPair LoadIdentity()
    {
        var blob = database.OpenSealed((byte[])database.Scalar("SELECT identity_sealed FROM profile WHERE id = 1")!, IdentityPurpose);
        try
        {
            return IdentityKeyPair.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Records when the signed prekey was last rotated.</summary>
    public void SetSignedPrekeyRotatedAt(DateTimeOffset at) =>
        database.Execute("UPDATE profile SET signed_prekey_rotated_at = $at WHERE id = 1", ("$at", at.ToUnixTimeMilliseconds()));
}
