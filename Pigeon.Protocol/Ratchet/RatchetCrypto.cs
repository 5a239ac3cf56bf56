using System.Security.Cryptography;

namespace Pigeon.Protocol.Ratchet;

/// <summary>The Double Ratchet's KDFs and AEAD (Double Ratchet §5.2 recommended cryptographic algorithms), all from .NET.</summary>
internal static class RatchetCrypto
{
    public const int KeySize = 32;

    /// <summary>Size of the per-message salt carried in the header.</summary>
    public const int MessageSaltSize = 16;

    private const int NonceSize = 12;
    private const int SaltRandomSize = 32;

    private static readonly byte[] RootInfo = "Pigeon/2/ratchet-root"u8.ToArray();
    private static readonly byte[] MessageKeyInfo = "Pigeon/2/message-key"u8.ToArray();
    private static readonly byte[] MessageSaltLabel = "Pigeon/2/message-salt\0"u8.ToArray();

    // §5.2: distinct single-byte constants as HMAC input for the message key and the next chain key.
    private static readonly byte[] MessageKeyConstant = [0x01];
    private static readonly byte[] ChainKeyConstant = [0x02];

    /// <summary>KDF_RK (§5.2): HKDF-SHA256 with the root key as salt and the DH output as input; 64 bytes → new root key, chain key.</summary>
    public static (byte[] RootKey, byte[] ChainKey) KdfRootKey(ReadOnlySpan<byte> rootKey, ReadOnlySpan<byte> dhOutput)
    {
        Span<byte> output = stackalloc byte[2 * KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, dhOutput, output, rootKey, RootInfo);
        var result = (output[..KeySize].ToArray(), output[KeySize..].ToArray());
        CryptographicOperations.ZeroMemory(output);
        return result;
    }

    /// <summary>KDF_CK (§5.2): HMAC-SHA256 keyed by the chain key, constant 0x01 → message key, 0x02 → next chain key.</summary>
    public static (byte[] ChainKey, byte[] MessageKey) KdfChainKey(ReadOnlySpan<byte> chainKey) =>
        (HMACSHA256.HashData(chainKey, ChainKeyConstant), HMACSHA256.HashData(chainKey, MessageKeyConstant));

    /// <summary>
    /// The header's message salt: HMAC-SHA256(mk, "Pigeon/2/message-salt" 0x00 ‖ 32 fresh random bytes ‖
    /// padded plaintext), first 16 bytes. It enters the AEAD key and nonce derivation (<see cref="Seal"/>),
    /// so a session state restored from a backup or snapshot, which repeats a message key, still never
    /// repeats a key and nonce for a different plaintext: the fresh bytes differ, and were the random
    /// generator restored along with the state, the plaintexts do (a synthetic-IV construction).
    /// </summary>
    public static byte[] MessageSalt(ReadOnlySpan<byte> messageKey, ReadOnlySpan<byte> paddedPlaintext)
    {
        var input = new byte[MessageSaltLabel.Length + SaltRandomSize + paddedPlaintext.Length];
        MessageSaltLabel.CopyTo(input, 0);
        RandomNumberGenerator.Fill(input.AsSpan(MessageSaltLabel.Length, SaltRandomSize));
        paddedPlaintext.CopyTo(input.AsSpan(MessageSaltLabel.Length + SaltRandomSize));
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(messageKey, input, mac);
        CryptographicOperations.ZeroMemory(input);
        return mac[..MessageSaltSize].ToArray();
    }

    /// <summary>
    /// ENCRYPT (§3.1, §5.2 adapted to AES-256-GCM): key ‖ nonce = HKDF-SHA256(IKM mk, salt = message salt,
    /// info "Pigeon/2/message-key", 44 bytes), so a key is used for one message only, and never twice
    /// even when a message key is (see <see cref="MessageSalt"/>).
    /// </summary>
    public static byte[] Seal(ReadOnlySpan<byte> messageKey, ReadOnlySpan<byte> messageSalt, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> keyAndNonce = stackalloc byte[KeySize + NonceSize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, keyAndNonce, messageSalt, MessageKeyInfo);
        try
        {
            var output = new byte[plaintext.Length + Wire.WireMessage.TagSize];
            using var aes = new AesGcm(keyAndNonce[..KeySize], Wire.WireMessage.TagSize);
            aes.Encrypt(keyAndNonce[KeySize..], plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), associatedData);
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
    }

    /// <summary>DECRYPT: authentication failure becomes <see cref="ProtocolError.DecryptionFailed"/>; nothing else escapes.</summary>
    public static byte[] Open(ReadOnlySpan<byte> messageKey, ReadOnlySpan<byte> messageSalt, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData)
    {
        if (ciphertextAndTag.Length < Wire.WireMessage.TagSize)
        {
            throw ProtocolException.Malformed("ciphertext shorter than its tag");
        }

        Span<byte> keyAndNonce = stackalloc byte[KeySize + NonceSize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, keyAndNonce, messageSalt, MessageKeyInfo);
        var plaintextLength = ciphertextAndTag.Length - Wire.WireMessage.TagSize;
        var plaintext = new byte[plaintextLength];
        try
        {
            using var aes = new AesGcm(keyAndNonce[..KeySize], Wire.WireMessage.TagSize);
            aes.Decrypt(keyAndNonce[KeySize..], ciphertextAndTag[..plaintextLength], ciphertextAndTag[plaintextLength..], plaintext, associatedData);
            return plaintext;
        }
        catch (CryptographicException e)
        {
            throw new ProtocolException(ProtocolError.DecryptionFailed, "Message authentication failed.", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
    }
}
