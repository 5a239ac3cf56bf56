using System.Security.Cryptography;

namespace Pigeon.Protocol.Hpke;

/// <summary>The AEADs this HPKE offers (RFC 9180 §7.3), by their registry ids.</summary>
internal enum HpkeAead : ushort
{
    /// <summary>AES-128-GCM: Nk 16, Nn 12, Nt 16. Pigeon's sealed envelopes use this one.</summary>
    Aes128Gcm = 0x0001,

    /// <summary>ChaCha20-Poly1305: Nk 32, Nn 12, Nt 16.</summary>
    ChaCha20Poly1305 = 0x0003,
}

/// <summary>Seal and Open of §4 over .NET's AesGcm and ChaCha20Poly1305.</summary>
internal static class HpkeAeadAlgorithms
{
    /// <summary>Nn for both AEADs.</summary>
    public const int NonceSize = 12;

    /// <summary>Nt for both AEADs.</summary>
    public const int TagSize = 16;

    /// <summary>Nk, the key size.</summary>
    public static int KeySize(HpkeAead aead) => aead switch
    {
        HpkeAead.Aes128Gcm => 16,
        HpkeAead.ChaCha20Poly1305 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(aead)),
    };

    public static byte[] Seal(HpkeAead aead, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[plaintext.Length + TagSize];
        var ciphertext = output.AsSpan(0, plaintext.Length);
        var tag = output.AsSpan(plaintext.Length);
        switch (aead)
        {
            case HpkeAead.Aes128Gcm:
                using (var gcm = new AesGcm(key, TagSize))
                {
                    gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
                }

                break;
            case HpkeAead.ChaCha20Poly1305:
                using (var chacha = new ChaCha20Poly1305(key))
                {
                    chacha.Encrypt(nonce, plaintext, ciphertext, tag, aad);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(aead));
        }

        return output;
    }

    /// <summary>Open; an altered ciphertext, tag or aad is <see cref="ProtocolError.DecryptionFailed"/> (the OpenError of §5.2).</summary>
    public static byte[] Open(HpkeAead aead, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertextAndTag)
    {
        if (ciphertextAndTag.Length < TagSize)
        {
            throw new ProtocolException(ProtocolError.DecryptionFailed, "HPKE ciphertext is shorter than its tag.");
        }

        var length = ciphertextAndTag.Length - TagSize;
        var plaintext = new byte[length];
        try
        {
            switch (aead)
            {
                case HpkeAead.Aes128Gcm:
                    using (var gcm = new AesGcm(key, TagSize))
                    {
                        gcm.Decrypt(nonce, ciphertextAndTag[..length], ciphertextAndTag[length..], plaintext, aad);
                    }

                    break;
                case HpkeAead.ChaCha20Poly1305:
                    using (var chacha = new ChaCha20Poly1305(key))
                    {
                        chacha.Decrypt(nonce, ciphertextAndTag[..length], ciphertextAndTag[length..], plaintext, aad);
                    }

                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(aead));
            }
        }
        catch (CryptographicException e)
        {
            throw new ProtocolException(ProtocolError.DecryptionFailed, "HPKE authentication failed.", e);
        }

        return plaintext;
    }
}
