using System.Security.Cryptography;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Primitives;
using Pigeon.Protocol.Wire;

namespace Pigeon.Protocol.SessionSetup;

/// <summary>What the initiator ("Alice") gets from PQXDH: SK, AD, the prelude to send and Bob's signed prekey (her first DHr).</summary>
internal sealed record PqxdhInitiatorResult(byte[] SharedKey, byte[] AssociatedData, PqxdhPrelude Prelude, byte[] RemoteSignedPrekey);

/// <summary>What the responder ("Bob") gets from PQXDH: SK, AD and the signed prekey pair that starts his ratchet.</summary>
internal sealed record PqxdhResponderResult(byte[] SharedKey, byte[] AssociatedData, byte[] SignedPrekeyPrivate, byte[] SignedPrekeyPublic);

/// <summary>
/// The PQXDH key agreement (https://signal.org/docs/specifications/pqxdh/) with Pigeon's parameters:
/// curve X25519, hash SHA-256, PQKEM ML-KEM-1024, info "Pigeon/2/PQXDH_X25519_SHA-256_ML-KEM-1024".
/// Deviation from §2.3: identities carry a separate Ed25519 signing key (signing the X25519 identity
/// key and the prekeys) instead of XEdDSA over the X25519 key.
/// </summary>
internal static class Pqxdh
{
    private const int DhSize = X25519Dh.KeySize;

    private static readonly byte[] Info = "Pigeon/2/PQXDH_X25519_SHA-256_ML-KEM-1024"u8.ToArray();
    private static readonly byte[] AdLabel = "Pigeon/2/session-ad\0"u8.ToArray();

    /// <summary>§3.3 Sending the initial message: verify the bundle, then DH1..DH4 and the ML-KEM encapsulation.</summary>
    public static PqxdhInitiatorResult Initiate(IdentityKeyPair self, PrekeyBundle bundle, string expectedAccountId)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(bundle);

        // §3.3: "Alice verifies the signatures ... if any signature check fails, Alice aborts"; §4.1: and the
        // identity is the one she meant (here, self-certified by the account id).
        bundle.Verify(expectedAccountId);

        using var ephemeral = X25519Dh.CreateKey();
        var ephemeralPublic = ephemeral.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey);
        var dhCount = bundle.OneTimePrekey is null ? 3 : 4;
        var keyMaterial = new byte[DhSize + (dhCount * DhSize) + MlKem1024.SharedSecretSize];
        try
        {
            var km = keyMaterial.AsSpan();
            km[..DhSize].Fill(0xFF); // §2.2 KDF: F = 32 0xFF bytes for X25519, for domain separation from XEdDSA.
            X25519Dh.Agree(self.AgreementKey, bundle.SignedPrekey.PublicKey, km.Slice(DhSize * 1, DhSize)); // DH1 = DH(IKA, SPKB)
            X25519Dh.Agree(ephemeral, bundle.Identity.AgreementKey, km.Slice(DhSize * 2, DhSize));        // DH2 = DH(EKA, IKB)
            X25519Dh.Agree(ephemeral, bundle.SignedPrekey.PublicKey, km.Slice(DhSize * 3, DhSize));        // DH3 = DH(EKA, SPKB)
            if (bundle.OneTimePrekey is not null)
            {
                X25519Dh.Agree(ephemeral, bundle.OneTimePrekey.PublicKey, km.Slice(DhSize * 4, DhSize));   // DH4 = DH(EKA, OPKB)
            }

            // (CT, SS) = PQKEM-ENC(PQPKB)
            var ciphertext = new byte[MlKem1024.CiphertextSize];
            MlKem1024.Encapsulate(bundle.MlKemPrekey.PublicKey, ciphertext, km[^MlKem1024.SharedSecretSize..]);

            var prelude = new PqxdhPrelude(
                self.PublicIdentity,
                ephemeralPublic,
                bundle.SignedPrekey.Id,
                bundle.OneTimePrekey?.Id,
                bundle.MlKemPrekey.Id,
                ciphertext);
            return new PqxdhInitiatorResult(
                DeriveSharedKey(keyMaterial),
                AssociatedData(self.PublicIdentity, bundle.Identity),
                prelude,
                bundle.SignedPrekey.PublicKey);
        }
        finally
        {
            // §3.3: "Alice deletes her ephemeral private key and the DH outputs" (the key is disposed by libsodium).
            CryptographicOperations.ZeroMemory(keyMaterial);
        }
    }

    /// <summary>
    /// §3.4 Receiving the initial message: look up the prekeys the prelude names, repeat the DH and KEM
    /// steps and derive SK. Does not delete the one-time prekeys: the caller does that once the first
    /// message has decrypted (§3.4 "Bob deletes any one-time prekey private key that was used").
    /// </summary>
    public static PqxdhResponderResult Respond(IdentityKeyPair self, PrekeyStore store, PqxdhPrelude prelude)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(prelude);

        if (!prelude.SenderIdentity.IsValid())
        {
            throw new ProtocolException(ProtocolError.InvalidSignature, "Sender identity signature does not verify.");
        }

        var signedPrivate = store.FindSignedPrekeyPrivate(prelude.SignedPrekeyId)
            ?? throw new ProtocolException(ProtocolError.UnknownPrekey, "Unknown signed prekey.");
        var signedPublic = store.FindSignedPrekeyPublic(prelude.SignedPrekeyId)!;
        byte[]? oneTimePrivate = null;
        if (prelude.OneTimePrekeyId is uint oneTimeId)
        {
            oneTimePrivate = store.FindOneTimePrekeyPrivate(oneTimeId)
                ?? throw new ProtocolException(ProtocolError.UnknownPrekey, "Unknown or already used one-time prekey.");
        }

        var mlKemSeed = store.FindMlKemSeed(prelude.MlKemPrekeyId)
            ?? throw new ProtocolException(ProtocolError.UnknownPrekey, "Unknown or already used ML-KEM prekey.");

        var dhCount = oneTimePrivate is null ? 3 : 4;
        var keyMaterial = new byte[DhSize + (dhCount * DhSize) + MlKem1024.SharedSecretSize];
        try
        {
            var km = keyMaterial.AsSpan();
            km[..DhSize].Fill(0xFF);
            using var signedKey = X25519Dh.ImportPrivate(signedPrivate);
            X25519Dh.Agree(signedKey, prelude.SenderIdentity.AgreementKey, km.Slice(DhSize * 1, DhSize));        // DH1
            X25519Dh.Agree(self.AgreementKey, prelude.EphemeralKey, km.Slice(DhSize * 2, DhSize));        // DH2
            X25519Dh.Agree(signedKey, prelude.EphemeralKey, km.Slice(DhSize * 3, DhSize));                       // DH3
            if (oneTimePrivate is not null)
            {
                X25519Dh.Agree(oneTimePrivate, prelude.EphemeralKey, km.Slice(DhSize * 4, DhSize));              // DH4
            }

            MlKem1024.Decapsulate(mlKemSeed, prelude.MlKemCiphertext, km[^MlKem1024.SharedSecretSize..]);      // SS
            return new PqxdhResponderResult(
                DeriveSharedKey(keyMaterial),
                AssociatedData(prelude.SenderIdentity, self.PublicIdentity),
                signedPrivate,
                signedPublic);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyMaterial);
        }
    }

    /// <summary>§2.2 KDF: HKDF-SHA256 over F || DH1 || DH2 || DH3 [|| DH4] || SS, zero salt, our info string, 32 bytes.</summary>
    private static byte[] DeriveSharedKey(ReadOnlySpan<byte> keyMaterial)
    {
        var sharedKey = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, keyMaterial, sharedKey, stackalloc byte[32], Info);
        return sharedKey;
    }

    /// <summary>§3.3 AD = Encode(IKA) || Encode(IKB); our encoding is both public keys of each identity, after a label.</summary>
    internal static byte[] AssociatedData(PublicIdentity initiator, PublicIdentity responder) =>
        [.. AdLabel, .. initiator.SigningKey, .. initiator.AgreementKey, .. responder.SigningKey, .. responder.AgreementKey];
}
