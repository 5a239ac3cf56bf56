using Pigeon.Protocol.Devices;
using Pigeon.Api;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Messaging;

/// <summary>Between the protocol's keys and the API's records.</summary>
internal static class ApiConversions
{
    /// <summary>Signs in as <paramref name="identity"/> (which the caller keeps and disposes).</summary>
    public static ApiCredentials Credentials(this IdentityKeyPair identity) =>
        new(identity.AccountId, challenge => identity.SignAuthChallenge(identity.AccountId, challenge));

    /// <summary>How device <paramref name="deviceId"/> of <paramref name="accountId"/> signs in: with its own key, which the account's device list names.</summary>
    public static ApiCredentials Credentials(this DeviceKeyPair deviceKey, string accountId, uint deviceId) =>
        new(accountId, challenge => deviceKey.SignAuthChallenge(accountId, deviceId, challenge), deviceId);

    /// <summary>The API's form of a signed device list.</summary>
    public static DeviceListRecord ToRecord(this DeviceList list, byte[] signature) =>
        new(list.Version, [.. list.Devices.Select(d => new DeviceRecord(d.DeviceId, d.AddedAt, d.SigningKey))], signature);

    /// <summary>A served device list as the protocol reads it (not verified yet).</summary>
    /// <exception cref="Pigeon.Protocol.ProtocolException">It is malformed.</exception>
    public static DeviceList ToDeviceList(this DeviceListRecord record, string accountId)
    {
        try
        {
            return new DeviceList(accountId, record.Version, record.Devices.Select(d => new DeviceEntry(d.DeviceId, d.AddedAt, d.SigningKey)));
        }
        catch (ArgumentException exception)
        {
            throw new Pigeon.Protocol.ProtocolException(Pigeon.Protocol.ProtocolError.InvalidSignature, $"The device list is malformed: {exception.Message}");
        }
    }

    /// <summary>The registration of <paramref name="identity"/>.</summary>
    public static RegisterAccountRequest Registration(this PublicIdentity identity) =>
        new(identity.AccountId, identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature);

    /// <summary>A signed X25519 prekey to publish.</summary>
    public static PrekeyDto ToDto(this SignedPrekey prekey) => new(prekey.Id, prekey.PublicKey, prekey.Signature);

    /// <summary>A signed ML-KEM prekey to publish.</summary>
    public static PrekeyDto ToDto(this MlKemPrekey prekey) => new(prekey.Id, prekey.PublicKey, prekey.Signature);

    /// <summary>A one-time X25519 prekey to publish (unsigned).</summary>
    public static PrekeyDto ToDto(this OneTimePrekey prekey) => new(prekey.Id, prekey.PublicKey);

    /// <summary>The protocol's bundle, still unverified: <see cref="PrekeyBundle.Verify"/> checks it against the account id.</summary>
    public static PrekeyBundle ToBundle(this PrekeyBundleResponse response) => new(
        new PublicIdentity(response.Identity.SigningKey, response.Identity.AgreementKey, response.Identity.AgreementKeySignature),
        new SignedPrekey(response.SignedPrekey.Id, response.SignedPrekey.PublicKey, response.SignedPrekey.Signature ?? []),
        response.OneTimePrekey is { } oneTime ? new OneTimePrekey(oneTime.Id, oneTime.PublicKey) : null,
        new MlKemPrekey(response.KemPrekey.Id, response.KemPrekey.PublicKey, response.KemPrekey.Signature ?? [], response.KemPrekeyIsLastResort));
}
