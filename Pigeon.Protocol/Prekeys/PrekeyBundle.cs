using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Protocol.Prekeys;

/// <summary>
/// What the server hands out to start a session with someone (PQXDH §3.2 "Bob's prekey bundle"):
/// their public identity, signed X25519 prekey, an optional one-time X25519 prekey and an ML-KEM-1024
/// prekey (one-time, or the last-resort one when none is left).
/// </summary>
public sealed record PrekeyBundle(PublicIdentity Identity, SignedPrekey SignedPrekey, OneTimePrekey? OneTimePrekey, MlKemPrekey MlKemPrekey)
{
    /// <summary>
    /// Checks everything PQXDH §3.3 requires before use, plus Pigeon's self-certification: the identity
    /// keys hash to <paramref name="expectedAccountId"/>, the agreement key and both prekey signatures
    /// verify, and every key has its size and imports.
    /// </summary>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.IdentityMismatch"/>, <see cref="ProtocolError.InvalidSignature"/> or
    /// <see cref="ProtocolError.InvalidKey"/>.
    /// </exception>
    public void Verify(string expectedAccountId)
    {
        if (Identity is null || SignedPrekey is null || MlKemPrekey is null)
        {
            throw ProtocolException.Malformed("bundle is incomplete");
        }

        if (!AccountId.Matches(expectedAccountId, Identity.SigningKey, Identity.AgreementKey))
        {
            throw new ProtocolException(ProtocolError.IdentityMismatch, "Bundle identity keys do not hash to the expected account id.");
        }

        if (!Identity.IsValid())
        {
            throw new ProtocolException(ProtocolError.InvalidSignature, "Bundle identity agreement-key signature does not verify.");
        }

        if (!SignedPrekey.IsValidFor(Identity.SigningKey))
        {
            throw new ProtocolException(ProtocolError.InvalidSignature, "Signed prekey signature does not verify.");
        }

        if (!MlKemPrekey.IsValidFor(Identity.SigningKey))
        {
            throw new ProtocolException(ProtocolError.InvalidSignature, "ML-KEM prekey signature does not verify.");
        }

        if (!X25519Dh.IsValidPublicKey(Identity.AgreementKey)
            || !X25519Dh.IsValidPublicKey(SignedPrekey.PublicKey)
            || (OneTimePrekey is not null && !X25519Dh.IsValidPublicKey(OneTimePrekey.PublicKey)))
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "Bundle contains an invalid X25519 key.");
        }
    }
}
