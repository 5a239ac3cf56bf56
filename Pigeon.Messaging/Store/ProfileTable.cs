using System.Security.Cryptography;
using Pigeon.Protocol.Devices;
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
    private const string DeviceKeyKey = "device-key";

    /// <summary>Writes the rows of a new profile: the account's identity, and this device's id and key.</summary>
    public void Insert(string server, string displayName, IdentityKeyPair identity, uint deviceId, DeviceKeyPair deviceKey, DateTimeOffset now)
    {
        var at = now.ToUnixTimeMilliseconds();
        table.Put(FactsKey, StoreJson.Write(new StoredProfile(identity.AccountId, server, displayName, identity.PublicIdentity.ToBytes(), at, at, deviceId)));
        var identityBlob = identity.Serialize();
        var deviceBlob = deviceKey.ExportPrivateKey();
        try
        {
            table.Put(IdentityKey, identityBlob);
            table.Put(DeviceKeyKey, deviceBlob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(identityBlob);
            CryptographicOperations.ZeroMemory(deviceBlob);
        }
    }

    /// <summary>This device's own key, with which it signs in; dispose it after use.</summary>
    public DeviceKeyPair LoadDeviceKey()
    {
        var blob = table.Find(DeviceKeyKey) ?? throw Missing(DeviceKeyKey);
        try
        {
            return DeviceKeyPair.Import(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Changes the display name (a linked device keeps the one its account had; a rename reaches this device's facts).</summary>
    public void SetDisplayName(string displayName) => table.Put(FactsKey, StoreJson.Write(Facts() with { DisplayName = displayName }));

    /// <summary>The profile's public facts.</summary>
    public ProfileRow Read()
    {
        var facts = Facts();
        return new ProfileRow(facts.AccountId, facts.Server, facts.DisplayName, PublicIdentity.FromBytes(facts.PublicIdentity),
            ProfileDatabase.FromMs(facts.CreatedAt), ProfileDatabase.FromMs(facts.SignedPrekeyRotatedAt), database.IsEncrypted, facts.DeviceId);
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
