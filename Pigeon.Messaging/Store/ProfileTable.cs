using System.Security.Cryptography;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>
/// The profile's own rows of sealed table <c>profile</c>: its facts (account, server, name, public
/// identity, when it was made and when its signed prekey was last rotated) and its private identity.
/// </summary>
internal sealed class ProfileTable(ProfileDatabase database, SealedTable table)
{
    private const string FactsKey = "facts";
    private const string IdentityKey = "identity";

    /// <summary>Writes the rows of a new identity.</summary>
    public void Insert(string server, string displayName, IdentityKeyPair identity, DateTimeOffset now)
    {
        var at = now.ToUnixTimeMilliseconds();
        table.Put(FactsKey, StoreJson.Write(new StoredProfile(identity.AccountId, server, displayName, identity.PublicIdentity.ToBytes(), at, at)));
        var identityBlob = identity.Serialize();
        try
        {
            table.Put(IdentityKey, identityBlob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(identityBlob);
        }
    }

    /// <summary>The profile's public facts.</summary>
    public ProfileRow Read()
    {
        var facts = Facts();
        return new ProfileRow(facts.AccountId, facts.Server, facts.DisplayName, PublicIdentity.FromBytes(facts.PublicIdentity),
            ProfileDatabase.FromMs(facts.CreatedAt), ProfileDatabase.FromMs(facts.SignedPrekeyRotatedAt), database.IsEncrypted);
    }

    /// <summary>The private identity; dispose it after use.</summary>
    public IdentityKeyPair LoadIdentity()
    {
        var blob = table.Find(IdentityKey) ?? throw Missing(IdentityKey);
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
        table.Put(FactsKey, StoreJson.Write(Facts() with { SignedPrekeyRotatedAt = at.ToUnixTimeMilliseconds() }));

    private StoredProfile Facts() => StoreJson.Read<StoredProfile>(table.Find(FactsKey) ?? throw Missing(FactsKey), table.Name);

    private ProfileDamagedException Missing(string key) => new(table.Name, new KeyNotFoundException($"No row '{key}'."));
}
