using System.Security.Cryptography;
using Pigeon.Protocol.Primitives;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Ratchet;

/// <summary>Identifies a skipped message key: the sender's ratchet public key and the message number (§3.2 MKSKIPPED).</summary>
internal readonly record struct SkippedKeyId(string RatchetKey, uint MessageNumber);

/// <summary>A skipped message key and when it was stored, so it can expire by age as well as by count.</summary>
internal readonly record struct SkippedKey(byte[] Key, DateTimeOffset StoredAt);

/// <summary>The Double Ratchet state variables of §3.2.</summary>
internal sealed class RatchetState
{
    public required byte[] SendingPrivateKey { get; set; }    // DHs (private)
    public required byte[] SendingPublicKey { get; set; }     // DHs (public)
    public byte[]? ReceivingKey { get; set; }                  // DHr
    public required byte[] RootKey { get; set; }              // RK
    public byte[]? SendingChainKey { get; set; }               // CKs
    public byte[]? ReceivingChainKey { get; set; }             // CKr
    public uint SendCount { get; set; }                        // Ns
    public uint ReceiveCount { get; set; }                     // Nr
    public uint PreviousSendCount { get; set; }                // PN

    /// <summary>A DH ratchet step's sending half still to run (only ever on a working copy; never stored).</summary>
    public bool SendingStepPending { get; set; }

    /// <summary>
    /// The receiving ratchet keys before DHr, most recent first (at most <see cref="DoubleRatchet.MaxPreviousReceivingKeys"/>):
    /// a message on one of those chains whose key is not in <see cref="Skipped"/> was already received
    /// (or its key expired), which is known without a DH step.
    /// </summary>
    public List<byte[]> PreviousReceivingKeys { get; private init; } = [];

    /// <summary>MKSKIPPED, oldest first, so the oldest can be evicted when the total bound is reached.</summary>
    public OrderedDictionary<SkippedKeyId, SkippedKey> Skipped { get; private init; } = [];

    /// <summary>
    /// A copy to work on while a message is unauthenticated (§3.5: changes are discarded on failure).
    /// Scalar keys are copied; skipped message keys are shared and only zeroed once removal is committed.
    /// </summary>
    public RatchetState Clone() => new()
    {
        SendingPrivateKey = (byte[])SendingPrivateKey.Clone(),
        SendingPublicKey = SendingPublicKey,
        ReceivingKey = ReceivingKey,
        RootKey = (byte[])RootKey.Clone(),
        SendingChainKey = (byte[]?)SendingChainKey?.Clone(),
        ReceivingChainKey = (byte[]?)ReceivingChainKey?.Clone(),
        SendCount = SendCount,
        ReceiveCount = ReceiveCount,
        PreviousSendCount = PreviousSendCount,
        PreviousReceivingKeys = [.. PreviousReceivingKeys],
        Skipped = new OrderedDictionary<SkippedKeyId, SkippedKey>(Skipped),
    };

    /// <summary>Zeroes the scalar secrets this object owns (not the shared skipped keys).</summary>
    public void EraseScalars()
    {
        X25519Dh.Erase(SendingPrivateKey);
        X25519Dh.Erase(RootKey);
        X25519Dh.Erase(SendingChainKey);
        X25519Dh.Erase(ReceivingChainKey);
    }

    /// <summary>Zeroes the skipped keys that this state dropped compared with <paramref name="previous"/>.</summary>
    public void EraseSkippedDroppedSince(RatchetState previous)
    {
        foreach (var (id, skipped) in previous.Skipped)
        {
            if (!Skipped.ContainsKey(id))
            {
                CryptographicOperations.ZeroMemory(skipped.Key);
            }
        }
    }

    public void Write(BlobWriter writer)
    {
        writer.WriteFixed(SendingPrivateKey);
        writer.WriteFixed(SendingPublicKey);
        writer.WriteOptionalFixed(ReceivingKey);
        writer.WriteFixed(RootKey);
        writer.WriteOptionalFixed(SendingChainKey);
        writer.WriteOptionalFixed(ReceivingChainKey);
        writer.WriteUInt32(SendCount);
        writer.WriteUInt32(ReceiveCount);
        writer.WriteUInt32(PreviousSendCount);
        writer.WriteUInt32((uint)PreviousReceivingKeys.Count);
        foreach (var key in PreviousReceivingKeys)
        {
            writer.WriteFixed(key);
        }

        writer.WriteUInt32((uint)Skipped.Count);
        foreach (var (id, skipped) in Skipped)
        {
            writer.WriteFixed(Convert.FromHexString(id.RatchetKey));
            writer.WriteUInt32(id.MessageNumber);
            writer.WriteFixed(skipped.Key);
            writer.WriteInt64(skipped.StoredAt.ToUnixTimeMilliseconds());
        }
    }

    public static RatchetState Read(ref BlobReader reader)
    {
        var state = new RatchetState
        {
            SendingPrivateKey = reader.ReadFixedArray(X25519Dh.KeySize),
            SendingPublicKey = reader.ReadFixedArray(X25519Dh.KeySize),
            ReceivingKey = reader.ReadOptionalFixed(X25519Dh.KeySize),
            RootKey = reader.ReadFixedArray(RatchetCrypto.KeySize),
            SendingChainKey = reader.ReadOptionalFixed(RatchetCrypto.KeySize),
            ReceivingChainKey = reader.ReadOptionalFixed(RatchetCrypto.KeySize),
            SendCount = reader.ReadUInt32(),
            ReceiveCount = reader.ReadUInt32(),
            PreviousSendCount = reader.ReadUInt32(),
        };
        var previous = reader.ReadCount(DoubleRatchet.MaxPreviousReceivingKeys);
        for (var i = 0; i < previous; i++)
        {
            state.PreviousReceivingKeys.Add(reader.ReadFixedArray(X25519Dh.KeySize));
        }

        var count = reader.ReadCount(DoubleRatchet.MaxStoredSkippedKeys);
        for (var i = 0; i < count; i++)
        {
            var id = new SkippedKeyId(Convert.ToHexString(reader.ReadFixed(X25519Dh.KeySize)), reader.ReadUInt32());
            var key = reader.ReadFixedArray(RatchetCrypto.KeySize);
            var storedAt = reader.ReadInt64();
            if (storedAt < 0 || storedAt > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                throw reader.Fail("skipped key time out of range");
            }

            if (!state.Skipped.TryAdd(id, new SkippedKey(key, DateTimeOffset.FromUnixTimeMilliseconds(storedAt))))
            {
                throw reader.Fail("duplicate skipped key");
            }
        }

        return state;
    }
}
