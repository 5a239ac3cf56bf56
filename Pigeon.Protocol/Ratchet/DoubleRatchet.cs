using System.Security.Cryptography;
using Pigeon.Protocol.Primitives;
using Pigeon.Protocol.Wire;

namespace Pigeon.Protocol.Ratchet;

/// <summary>
/// The Double Ratchet algorithm (https://signal.org/docs/specifications/doubleratchet/) over X25519,
/// HKDF-SHA256/HMAC-SHA256 chains and AES-256-GCM. Works on <see cref="RatchetState"/>; callers
/// apply the §3.5 rule "discard changes on failure" by decrypting on a clone.
/// </summary>
internal static class DoubleRatchet
{
    /// <summary>
    /// MAX_SKIP (§3.5/§4.1), applied per message across both chains: the message keys one message may make
    /// us derive and store, the rest of the old receiving chain (PN) and the new chain up to N together.
    /// This is the hard bound on the chain-key work one envelope can cause.
    /// </summary>
    public const int MaxSkip = 1000;

    /// <summary>Bound on stored skipped keys across all chains (§8.1 advice); beyond it the oldest are deleted.</summary>
    public const int MaxStoredSkippedKeys = 2000;

    /// <summary>How many earlier receiving ratchet keys are remembered to recognise replays without a DH step.</summary>
    public const int MaxPreviousReceivingKeys = 40;

    /// <summary>
    /// Skipped message keys older than this are deleted (§8.1 "delete skipped message keys after an
    /// appropriate interval"): the server drops undelivered envelopes after 30 days by default, so a
    /// message older than that will not arrive.
    /// </summary>
    public static readonly TimeSpan MaxSkippedKeyAge = TimeSpan.FromDays(30);

    /// <summary>RatchetInitAlice (§3.3): the initiator starts with Bob's signed prekey as DHr and a sending chain.</summary>
    public static RatchetState InitializeInitiator(ReadOnlySpan<byte> sharedKey, byte[] remoteRatchetKey)
    {
        using var key = X25519Dh.CreateKey();
        var (privateKey, publicKey) = X25519Dh.Export(key);
        Span<byte> dh = stackalloc byte[X25519Dh.KeySize];
        X25519Dh.Agree(key, remoteRatchetKey, dh);
        var (rootKey, chainKey) = RatchetCrypto.KdfRootKey(sharedKey, dh);
        CryptographicOperations.ZeroMemory(dh);
        return new RatchetState
        {
            SendingPrivateKey = privateKey,
            SendingPublicKey = publicKey,
            ReceivingKey = remoteRatchetKey,
            RootKey = rootKey,
            SendingChainKey = chainKey,
        };
    }

    /// <summary>RatchetInitBob (§3.3): the responder's first ratchet key pair is its signed prekey; RK = SK.</summary>
    public static RatchetState InitializeResponder(ReadOnlySpan<byte> sharedKey, byte[] signedPrekeyPrivate, byte[] signedPrekeyPublic) => new()
    {
        SendingPrivateKey = (byte[])signedPrekeyPrivate.Clone(),
        SendingPublicKey = signedPrekeyPublic,
        RootKey = sharedKey.ToArray(),
    };

    /// <summary>
    /// First half of RatchetEncrypt (§3.4): advance the sending chain, return the header fields
    /// (DHs, PN, N) and the one-use message key.
    /// </summary>
    public static (byte[] RatchetKey, uint PreviousChainLength, uint MessageNumber, byte[] MessageKey) NextSendingKey(RatchetState state)
    {
        var chainKey = state.SendingChainKey
            ?? throw new InvalidOperationException("This session cannot send before it has received a message.");
        var (nextChainKey, messageKey) = RatchetCrypto.KdfChainKey(chainKey);
        CryptographicOperations.ZeroMemory(chainKey);
        state.SendingChainKey = nextChainKey;
        var result = (state.SendingPublicKey, state.PreviousSendCount, state.SendCount, messageKey);
        state.SendCount = checked(state.SendCount + 1);
        return result;
    }

    /// <summary>
    /// RatchetDecrypt (§3.5) up to the point of decryption: find the message key for the header, from
    /// the skipped keys (TrySkippedMessageKeys) or by a DH ratchet step and skipping ahead. Mutates
    /// <paramref name="state"/>, which must be a clone until the message authenticates.
    /// </summary>
    public static byte[] ReceivingKey(RatchetState state, RatchetHeader header, DateTimeOffset now)
    {
        ExpireSkippedKeys(state, now);
        var ratchetKey = Convert.ToHexString(header.RatchetKey);
        if (state.Skipped.Remove(new SkippedKeyId(ratchetKey, header.MessageNumber), out var skipped))
        {
            return skipped.Key;
        }

        var newChain = state.ReceivingKey is null || !CryptographicOperations.FixedTimeEquals(header.RatchetKey, state.ReceivingKey);
        if ((!newChain && header.MessageNumber < state.ReceiveCount)
            || (newChain && state.PreviousReceivingKeys.Exists(k => CryptographicOperations.FixedTimeEquals(k, header.RatchetKey))))
        {
            // Its key was used (or evicted) and erased: a replay or a very late duplicate.
            throw new ProtocolException(ProtocolError.DuplicateMessage, "The message was already received.");
        }

        // Count the keys to derive before doing any of the work (a DH step or a single derivation),
        // so a message over the bound costs only this comparison.
        ulong toSkip = newChain
            ? (state.ReceivingChainKey is null || header.PreviousChainLength <= state.ReceiveCount ? 0UL : header.PreviousChainLength - state.ReceiveCount) + header.MessageNumber
            : header.MessageNumber - state.ReceiveCount;
        if (toSkip > MaxSkip)
        {
            throw new ProtocolException(ProtocolError.TooManySkippedMessages, $"The message would skip more than {MaxSkip} messages.");
        }

        if (newChain)
        {
            SkipMessageKeys(state, header.PreviousChainLength, now);
            DhRatchet(state, header);
        }

        if (state.ReceivingChainKey is null)
        {
            // The initiator's DHr starts as the peer's signed prekey, which never heads a sending chain.
            throw new ProtocolException(ProtocolError.DecryptionFailed, "No receiving chain for this ratchet key.");
        }

        SkipMessageKeys(state, header.MessageNumber, now);
        var (nextChainKey, messageKey) = RatchetCrypto.KdfChainKey(state.ReceivingChainKey);
        CryptographicOperations.ZeroMemory(state.ReceivingChainKey);
        state.ReceivingChainKey = nextChainKey;
        state.ReceiveCount = checked(state.ReceiveCount + 1);
        return messageKey;
    }

    /// <summary>SkipMessageKeys (§3.5): store keys of messages not yet received (the caller has checked MAX_SKIP).</summary>
    private static void SkipMessageKeys(RatchetState state, uint until, DateTimeOffset now)
    {
        if (state.ReceivingChainKey is null)
        {
            return;
        }

        var ratchetKey = Convert.ToHexString(state.ReceivingKey!);
        while (state.ReceiveCount < until)
        {
            var (nextChainKey, messageKey) = RatchetCrypto.KdfChainKey(state.ReceivingChainKey);
            CryptographicOperations.ZeroMemory(state.ReceivingChainKey);
            state.ReceivingChainKey = nextChainKey;
            state.Skipped[new SkippedKeyId(ratchetKey, state.ReceiveCount)] = new SkippedKey(messageKey, now);
            state.ReceiveCount++;
            if (state.Skipped.Count > MaxStoredSkippedKeys)
            {
                // Evicted keys are not zeroed here: the state may be a clone sharing them; see EraseSkippedDroppedSince.
                state.Skipped.RemoveAt(0);
            }
        }
    }

    /// <summary>§8.1: drops skipped keys stored more than <see cref="MaxSkippedKeyAge"/> before <paramref name="now"/>.</summary>
    private static void ExpireSkippedKeys(RatchetState state, DateTimeOffset now)
    {
        // Evicted keys are not zeroed here either; the commit does it (EraseSkippedDroppedSince).
        var cutoff = now - MaxSkippedKeyAge;
        foreach (var id in state.Skipped.Where(e => e.Value.StoredAt <= cutoff).Select(e => e.Key).ToList())
        {
            state.Skipped.Remove(id);
        }
    }

    /// <summary>
    /// First half of DHRatchet (§3.5): a new receiving chain from the peer's new key. The second half
    /// (a fresh key pair and the sending chain) waits for <see cref="CompleteDhRatchet"/>, which the
    /// caller runs once the message has authenticated: it does not affect the message key, and a
    /// message that fails then costs one DH instead of two and a key generation.
    /// </summary>
    private static void DhRatchet(RatchetState state, RatchetHeader header)
    {
        state.PreviousSendCount = state.SendCount;
        state.SendCount = 0;
        state.ReceiveCount = 0;
        if (state.ReceivingKey is not null)
        {
            state.PreviousReceivingKeys.Insert(0, state.ReceivingKey);
            if (state.PreviousReceivingKeys.Count > MaxPreviousReceivingKeys)
            {
                state.PreviousReceivingKeys.RemoveAt(MaxPreviousReceivingKeys);
            }
        }

        state.ReceivingKey = header.RatchetKey;
        Span<byte> dh = stackalloc byte[X25519Dh.KeySize];
        try
        {
            X25519Dh.Agree(state.SendingPrivateKey, state.ReceivingKey, dh);
            (var rootKey, var receivingChainKey) = RatchetCrypto.KdfRootKey(state.RootKey, dh);
            ReplaceRoot(state, rootKey);
            X25519Dh.Erase(state.ReceivingChainKey);
            state.ReceivingChainKey = receivingChainKey;
            state.SendingStepPending = true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>Second half of DHRatchet (§3.5), if one is pending: DHs = GENERATE_DH(), then KDF_RK for the sending chain.</summary>
    public static void CompleteDhRatchet(RatchetState state)
    {
        if (!state.SendingStepPending)
        {
            return;
        }

        Span<byte> dh = stackalloc byte[X25519Dh.KeySize];
        try
        {
            using var key = X25519Dh.CreateKey();
            var (privateKey, publicKey) = X25519Dh.Export(key);
            X25519Dh.Erase(state.SendingPrivateKey);
            state.SendingPrivateKey = privateKey;
            state.SendingPublicKey = publicKey;
            X25519Dh.Agree(key, state.ReceivingKey!, dh);
            var (rootKey, sendingChainKey) = RatchetCrypto.KdfRootKey(state.RootKey, dh);
            ReplaceRoot(state, rootKey);
            X25519Dh.Erase(state.SendingChainKey);
            state.SendingChainKey = sendingChainKey;
            state.SendingStepPending = false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    private static void ReplaceRoot(RatchetState state, byte[] rootKey)
    {
        CryptographicOperations.ZeroMemory(state.RootKey);
        state.RootKey = rootKey;
    }
}
