using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pigeon.Protocol.Hpke;

/// <summary>
/// An HPKE encryption context (RFC 9180 §5.2, §5.3): the AEAD key, base nonce, sequence number and
/// exporter secret from the key schedule. Not thread-safe. Dispose it to zero its secrets.
/// </summary>
internal abstract class HpkeContext : IDisposable
{
    private readonly byte[] _key;
    private readonly byte[] _baseNonce;
    private readonly byte[] _exporterSecret;
    private readonly byte[] _suiteId;
    private ulong _sequence;

    protected HpkeContext(HpkeAead aead, byte[] suiteId, byte[] key, byte[] baseNonce, byte[] exporterSecret)
    {
        Aead = aead;
        _suiteId = suiteId;
        _key = key;
        _baseNonce = baseNonce;
        _exporterSecret = exporterSecret;
    }

    /// <summary>The AEAD in use.</summary>
    public HpkeAead Aead { get; }

    /// <summary>The number of messages sealed or opened so far; the next one uses this sequence number.</summary>
    public ulong SequenceNumber => _sequence;

    internal ReadOnlySpan<byte> Key => _key;

    internal ReadOnlySpan<byte> BaseNonce => _baseNonce;

    internal ReadOnlySpan<byte> ExporterSecret => _exporterSecret;

    /// <summary>§5.3 Export: LabeledExpand(exporter_secret, "sec", exporter_context, L), L at most 255 × Nh.</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length) =>
        HpkeKdf.LabeledExpand(_suiteId, _exporterSecret, "sec"u8, exporterContext, length);

    /// <summary>Zeroes the key, base nonce and exporter secret.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_baseNonce);
        CryptographicOperations.ZeroMemory(_exporterSecret);
    }

    /// <summary>§5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn).</summary>
    protected byte[] ComputeNonce()
    {
        var nonce = (byte[])_baseNonce.Clone();
        Span<byte> sequence = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(sequence, _sequence);
        for (var i = 0; i < sequence.Length; i++)
        {
            nonce[HpkeAeadAlgorithms.NonceSize - 8 + i] ^= sequence[i];
        }

        return nonce;
    }

    /// <summary>
    /// §5.2 IncrementSeq. The RFC's limit is 2^96 − 1 messages; a 64-bit counter refuses at 2^64 − 1,
    /// which no context of Pigeon's comes near (each seals one message).
    /// </summary>
    protected void IncrementSequence()
    {
        if (_sequence == ulong.MaxValue)
        {
            throw new ProtocolException(ProtocolError.TooLarge, "The HPKE context has reached its message limit.");
        }

        _sequence++;
    }
}

/// <summary>The sender's context (ContextS of §5.2): Seal.</summary>
internal sealed class HpkeSenderContext(HpkeAead aead, byte[] suiteId, byte[] key, byte[] baseNonce, byte[] exporterSecret)
    : HpkeContext(aead, suiteId, key, baseNonce, exporterSecret)
{
    /// <summary>§5.2 ContextS.Seal(aad, pt): seals under the current sequence number, then increments it.</summary>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        var ciphertext = HpkeAeadAlgorithms.Seal(Aead, Key, ComputeNonce(), aad, plaintext);
        IncrementSequence();
        return ciphertext;
    }
}

/// <summary>The recipient's context (ContextR of §5.2): Open.</summary>
internal sealed class HpkeRecipientContext(HpkeAead aead, byte[] suiteId, byte[] key, byte[] baseNonce, byte[] exporterSecret)
    : HpkeContext(aead, suiteId, key, baseNonce, exporterSecret)
{
    /// <summary>§5.2 ContextR.Open(aad, ct): the sequence number moves on only when the ciphertext authenticates.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.DecryptionFailed"/>.</exception>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        var plaintext = HpkeAeadAlgorithms.Open(Aead, Key, ComputeNonce(), aad, ciphertext);
        IncrementSequence();
        return plaintext;
    }
}
