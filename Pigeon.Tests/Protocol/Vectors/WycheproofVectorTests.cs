using System.Security.Cryptography;
using Pigeon.Protocol;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Tests.Protocol.Vectors;

/// <summary>Every case of each Wycheproof file for a primitive Pigeon uses, through the wrapper Pigeon calls.</summary>
public sealed class WycheproofVectorTests
{
    /// <summary>
    /// X25519 through NSec/libsodium. Mapping of verdicts: "valid" must give the shared secret.
    /// "acceptable" cases are of two sorts: (1) those flagged ZeroSharedSecret (low-order public keys,
    /// RFC 7748 §6.1): libsodium refuses an all-zero result, so Pigeon must refuse them with
    /// <see cref="ProtocolError.InvalidKey"/>; (2) all others (twist points, non-canonical encodings):
    /// libsodium computes RFC 7748's value, which must equal the vector's. The file has no "invalid" case;
    /// any would have to be refused.
    /// </summary>
    [Fact]
    public void X25519_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("x25519_test.json");
        var refused = 0;
        Wycheproof.AssertAll(cases, c =>
        {
            var mustRefuse = c.IsInvalid || (c.IsAcceptable && c.Flags.Contains("ZeroSharedSecret"));
            byte[] shared;
            try
            {
                shared = X25519Dh.Agree(c.Hex("private"), c.Hex("public"));
            }
            catch (ProtocolException e) when (e.Reason == ProtocolError.InvalidKey)
            {
                refused++;
                return mustRefuse ? null : "refused a key that should be accepted";
            }

            if (mustRefuse)
            {
                return "accepted a key that should be refused";
            }

            return shared.AsSpan().SequenceEqual(c.Hex("shared")) ? null : "wrong shared secret";
        });
        Assert.Equal(cases.Count(c => c.Flags.Contains("ZeroSharedSecret")), refused);
        Assert.True(refused > 0);
    }

    /// <summary>Ed25519 verification: "valid" verifies, "invalid" (malleable, truncated, garbage, bad encodings) does not.</summary>
    [Fact]
    public void Ed25519_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("ed25519_test.json");
        Assert.DoesNotContain(cases, c => c.IsAcceptable);
        Wycheproof.AssertAll(cases, c =>
        {
            var publicKey = Convert.FromHexString(c.Group.GetProperty("publicKey").GetProperty("pk").GetString()!);
            var verified = Ed25519Signer.Verify(publicKey, c.Hex("msg"), c.Hex("sig"));
            return verified == c.IsValid ? null : verified ? "accepted an invalid signature" : "rejected a valid signature";
        });
    }

    /// <summary>
    /// AES-GCM through .NET's AesGcm, which supports only 96-bit nonces. Cases with other IV sizes
    /// (valid or not in Wycheproof's eyes) must be refused with an ArgumentException before any
    /// processing; they are counted and that count asserted. Pigeon itself only ever uses 96-bit nonces.
    /// </summary>
    [Fact]
    public void AesGcm_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("aes_gcm_test.json");
        Assert.DoesNotContain(cases, c => c.IsAcceptable);
        var unsupported = 0;
        var supported = 0;
        Wycheproof.AssertAll(cases, c =>
        {
            var key = c.Hex("key");
            var iv = c.Hex("iv");
            var aad = c.Hex("aad");
            var msg = c.Hex("msg");
            var ct = c.Hex("ct");
            var tag = c.Hex("tag");
            if (iv.Length != AesGcm.NonceByteSizes.MinSize)
            {
                using var refusing = new AesGcm(key, tag.Length);
                try
                {
                    refusing.Decrypt(iv, ct, tag, new byte[ct.Length], aad);
                }
                catch (ArgumentException)
                {
                    unsupported++;
                    return null;
                }

                return "an unsupported IV size was not refused";
            }

            supported++;
            using var aes = new AesGcm(key, tag.Length);
            var plaintext = new byte[ct.Length];
            return AeadVerdict(c, msg, ct, tag, () => aes.Decrypt(iv, ct, tag, plaintext, aad), plaintext, (ciphertext, computedTag) => aes.Encrypt(iv, msg, ciphertext, computedTag, aad));
        });
        Assert.Equal(cases.Count(c => c.Hex("iv").Length != 12), unsupported);
        Assert.True(unsupported > 0, "the file should contain IV sizes .NET refuses");
        Assert.Equal(cases.Count - unsupported, supported);
    }

    /// <summary>
    /// ChaCha20-Poly1305 (HPKE's second AEAD) through .NET's ChaCha20Poly1305, which supports only
    /// 96-bit nonces: cases with other nonce sizes must be refused with an ArgumentException and are
    /// counted; every other case must give Wycheproof's verdict and output.
    /// </summary>
    [Fact]
    public void ChaCha20Poly1305_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("chacha20_poly1305_test.json");
        Assert.DoesNotContain(cases, c => c.IsAcceptable);
        var unsupported = 0;
        Wycheproof.AssertAll(cases, c =>
        {
            using var chacha = new ChaCha20Poly1305(c.Hex("key"));
            var (iv, aad, msg, ct, tag) = (c.Hex("iv"), c.Hex("aad"), c.Hex("msg"), c.Hex("ct"), c.Hex("tag"));
            var plaintext = new byte[ct.Length];
            if (iv.Length != 12)
            {
                try
                {
                    chacha.Decrypt(iv, ct, tag, plaintext, aad);
                }
                catch (ArgumentException)
                {
                    unsupported++;
                    return null;
                }

                return "an unsupported nonce size was not refused";
            }

            return AeadVerdict(c, msg, ct, tag, () => chacha.Decrypt(iv, ct, tag, plaintext, aad), plaintext, (ciphertext, computedTag) => chacha.Encrypt(iv, msg, ciphertext, computedTag, aad));
        });
        Assert.Equal(cases.Count(c => c.Hex("iv").Length != 12), unsupported);
        Assert.True(unsupported > 0, "the file should contain nonce sizes .NET refuses");
    }

    /// <summary>HKDF-SHA256 through .NET: valid sizes give the OKM; sizes over 255 × 32 are refused.</summary>
    [Fact]
    public void HkdfSha256_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("hkdf_sha256_test.json");
        Assert.DoesNotContain(cases, c => c.IsAcceptable);
        Wycheproof.AssertAll(cases, c =>
        {
            var size = c.Test.GetProperty("size").GetInt32();
            byte[] okm;
            try
            {
                okm = HKDF.DeriveKey(HashAlgorithmName.SHA256, c.Hex("ikm"), size, c.Hex("salt"), c.Hex("info"));
            }
            catch (ArgumentException)
            {
                return c.IsInvalid ? null : "refused a valid size";
            }

            if (c.IsInvalid)
            {
                return "derived an invalid size";
            }

            return okm.AsSpan().SequenceEqual(c.Hex("okm")) ? null : "wrong OKM";
        });
    }

    /// <summary>HMAC-SHA256 through .NET, with full and truncated (128-bit) tags compared in constant time.</summary>
    [Fact]
    public void HmacSha256_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("hmac_sha256_test.json");
        Assert.DoesNotContain(cases, c => c.IsAcceptable);
        Wycheproof.AssertAll(cases, c =>
        {
            var tagBytes = c.Group.GetProperty("tagSize").GetInt32() / 8;
            var computed = HMACSHA256.HashData(c.Hex("key"), c.Hex("msg")).AsSpan(0, tagBytes);
            var tag = c.Hex("tag");
            var matches = tag.Length == tagBytes && CryptographicOperations.FixedTimeEquals(computed, tag);
            return matches == c.IsValid ? null : matches ? "accepted a wrong tag" : "rejected a correct tag";
        });
    }

    /// <summary>
    /// ML-KEM-1024 through BouncyCastle, private keys from 64-byte seeds. The file's structure: valid cases
    /// have seed, ek, c, K (keygen must give ek, decapsulation K, including implicit rejection); invalid
    /// cases either have a seed of the wrong length (key generation must be refused) or a ciphertext of
    /// the wrong length (decapsulation must be refused).
    /// </summary>
    [Fact]
    public void MlKem1024_AllWycheproofCases_GiveTheExpectedVerdict()
    {
        var cases = Wycheproof.Load("mlkem_1024_test.json");
        Assert.DoesNotContain(cases, c => c.IsAcceptable);
        Wycheproof.AssertAll(cases, c =>
        {
            var seed = c.Hex("seed");
            byte[] publicKey;
            try
            {
                publicKey = MlKem1024.PublicKeyFromSeed(seed);
            }
            catch (ProtocolException)
            {
                return c.IsInvalid && seed.Length != MlKem1024.SeedSize ? null : "refused a valid seed";
            }

            if (c.Has("ek") && !publicKey.AsSpan().SequenceEqual(c.Hex("ek")))
            {
                return "wrong encapsulation key";
            }

            var shared = new byte[MlKem1024.SharedSecretSize];
            try
            {
                MlKem1024.Decapsulate(seed, c.Hex("c"), shared);
            }
            catch (ProtocolException)
            {
                return c.IsInvalid ? null : "refused a valid ciphertext";
            }

            if (c.IsInvalid)
            {
                return "accepted an invalid case";
            }

            return shared.AsSpan().SequenceEqual(c.Hex("K")) ? null : "wrong shared secret";
        });
    }

    /// <summary>Encapsulation round-trips, and the FIPS 203 modulus check refuses an out-of-range encapsulation key.</summary>
    [Fact]
    public void MlKem1024_Encapsulation_RoundTripsAndRefusesBadKeys()
    {
        var (seed, publicKey) = MlKem1024.Generate();
        var ciphertext = new byte[MlKem1024.CiphertextSize];
        var sent = new byte[32];
        var received = new byte[32];
        MlKem1024.Encapsulate(publicKey, ciphertext, sent);
        MlKem1024.Decapsulate(seed, ciphertext, received);
        Assert.Equal(sent, received);

        var bad = Enumerable.Repeat((byte)0xFF, MlKem1024.PublicKeySize).ToArray();
        var e = Assert.Throws<ProtocolException>(() => MlKem1024.Encapsulate(bad, ciphertext, sent));
        Assert.Equal(ProtocolError.InvalidKey, e.Reason);
    }

    /// <summary>An AEAD case's verdict: a valid case decrypts and re-encrypts to the vector, an invalid one fails authentication.</summary>
    private static string? AeadVerdict(WycheproofCase c, byte[] msg, byte[] ct, byte[] tag, Action decrypt, byte[] plaintext, Action<byte[], byte[]> encrypt)
    {
        try
        {
            decrypt();
        }
        catch (AuthenticationTagMismatchException)
        {
            return c.IsValid ? "valid ciphertext rejected" : null;
        }

        if (!c.IsValid)
        {
            return "invalid ciphertext accepted";
        }

        var ciphertext = new byte[msg.Length];
        var computedTag = new byte[tag.Length];
        encrypt(ciphertext, computedTag);
        return plaintext.AsSpan().SequenceEqual(msg) && ciphertext.AsSpan().SequenceEqual(ct) && computedTag.AsSpan().SequenceEqual(tag)
            ? null
            : "wrong output";
    }
}
