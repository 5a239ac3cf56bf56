namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>The public half of an identity, as the client registered it.</summary>
/// <param name="SigningKey">The Ed25519 identity public key.</param>
/// <param name="AgreementKey">The X25519 identity public key.</param>
/// <param name="AgreementKeySignature">The signing key's signature over the agreement key.</param>
[GenerateSerializer, Immutable, Alias("pigeon.identity-keys")]
public sealed record IdentityKeys(
    [property: Id(0)] byte[] SigningKey,
    [property: Id(1)] byte[] AgreementKey,
    [property: Id(2)] byte[] AgreementKeySignature)
{
    /// <summary>Whether both records hold byte-for-byte the same keys and signature.</summary>
    public bool SameAs(IdentityKeys other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return SigningKey.AsSpan().SequenceEqual(other.SigningKey)
            && AgreementKey.AsSpan().SequenceEqual(other.AgreementKey)
            && AgreementKeySignature.AsSpan().SequenceEqual(other.AgreementKeySignature);
    }
}

/// <summary>The outcome of a registration.</summary>
/// <param name="RegisteredAt">When the account was first registered.</param>
/// <param name="AlreadyRegistered">True when these keys were registered before this call.</param>
[GenerateSerializer, Immutable, Alias("pigeon.account-registration")]
public sealed record AccountRegistration(
    [property: Id(0)] DateTimeOffset RegisteredAt,
    [property: Id(1)] bool AlreadyRegistered);
