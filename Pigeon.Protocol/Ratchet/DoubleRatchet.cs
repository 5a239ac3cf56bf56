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
    /// <summary>MAX_SKIP (§3.5/§4.1): the most message keys skipped in one receiving chain for one message.</summary>
    public const int MaxSkip = 1000;

    /// <summary>Bound on stored skipped keys across all chains (§8.1 advice); beyond it the oldest are deleted.</summary>
    public const int MaxStoredSkippedKeys = 2000;

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

    /// <summary>First half of RatchetEncrypt (§3.4): advance the sending chain, return the header and the one-use message key.</summary>
    public static (RatchetHeader Header, byte[] MessageKey) NextSendingKey(RatchetState state)
    {
        var chainKey = state.SendingChainKey
            ?? throw new InvalidOperationException("This session cannot send before it has received a message.");
        var (nextChainKey, messageKey) = RatchetCrypto.KdfChainKey(chainKey);
        CryptographicOperations.ZeroMemory(chainKey);
        state.SendingChainKey = nextChainKey;
        var header = new RatchetHeader(state.SendingPublicKey, state.PreviousSendCount, state.SendCount);
        state.SendCount = checked(state.SendCount + 1);
        return (header, messageKey);
    }

    /// <summary>
    /// RatchetDecrypt (§3.5) up to the point of decryption: find the message key for the header, from
    /// the skipped keys (TrySkippedMessageKeys) or by a DH ratchet step and skipping ahead. Mutates
    /// <paramref name="state"/>, which must be a clone until the message authenticates.
    /// </summary>
    public static byte[] ReceivingKey(RatchetState state, RatchetHeader header)
    {
        var ratchetKey = Convert.ToHexString(header.RatchetKey);
        if (state.Skipped.Remove(new SkippedKeyId(ratchetKey, header.MessageNumber), out var skipped))
        {
            return skipped;
        }

        if (state.ReceivingKey is null || !CryptographicOperations.FixedTimeEquals(header.RatchetKey, state.ReceivingKey))
        {
            SkipMessageKeys(state, header.PreviousChainLength);
            DhRatchet(state, header);
        }
        else if (header.MessageNumber < state.ReceiveCount)
        {
            // Its key was used (or evicted) and erased: a replay or a very late duplicate.
            throw new ProtocolException(ProtocolError.DuplicateMessage, "The message was already received.");
        }

        if (state.ReceivingChainKey is null)
        {
            // The initiator's DHr starts as the peer's signed prekey, which never heads a sending chain.
            throw new ProtocolException(ProtocolError.DecryptionFailed, "No receiving chain for this ratchet key.");
        }

        SkipMessageKeys(state, header.MessageNumber);
        var (nextChainKey, messageKey) = RatchetCrypto.KdfChainKey(state.ReceivingChainKey);
        CryptographicOperations.ZeroMemory(state.ReceivingChainKey);
        state.ReceivingChainKey = nextChainKey;
        state.ReceiveCount = checked(state.ReceiveCount + 1);
        return messageKey;
    }

    /// <summary>SkipMessageKeys (§3.5): store keys of messages not yet received, refusing to skip more than MAX_SKIP.</summary>
    private static void SkipMessageKeys(RatchetState state, uint until)
    {
        if (state.ReceivingChainKey is null)
        {
            return;
        }

        if ((ulong)state.ReceiveCount + MaxSkip < until)
        {
            throw new ProtocolException(ProtocolError.TooManySkippedMessages, $"The message is more than {MaxSkip} messages ahead.");
        }

        var ratchetKey = Convert.ToHexString(state.ReceivingKey!);
        while (state.ReceiveCount < until)
        {
            var (nextChainKey, messageKey) = RatchetCrypto.KdfChainKey(state.ReceivingChainKey);
            CryptographicOperations.ZeroMemory(state.ReceivingChainKey);
            state.ReceivingChainKey = nextChainKey;
            state.Skipped[new SkippedKeyId(ratchetKey, state.ReceiveCount)] = messageKey;
            state.ReceiveCount++;
            if (state.Skipped.Count > MaxStoredSkippedKeys)
            {
                // Evicted keys are not zeroed here: the state may be a clone sharing them; see EraseSkippedDroppedSince.
                state.Skipped.RemoveAt(0);
            }
        }
    }

    /// <summary>DHRatchet (§3.5): a new receiving chain from the peer's new key, then a new sending chain from a fresh key pair.</summary>
    private static void DhRatchet(RatchetState state, RatchetHeader header)
    {
        state.PreviousSendCount = state.SendCount;
        state.SendCount = 0;
        state.ReceiveCount = 0;
        state.ReceivingKey = header.RatchetKey;
        Span<byte> dh = stackalloc byte[X25519Dh.KeySize];
        try
        {
            X25519Dh.Agree(state.SendingPrivateKey, state.ReceivingKey, dh);
            (var rootKey, var receivingChainKey) = RatchetCrypto.KdfRootKey(state.RootKey, dh);
            ReplaceRoot(state, rootKey);
            X25519Dh.Erase(state.ReceivingChainKey);
            state.ReceivingChainKey = receivingChainKey;

            using var key = X25519Dh.CreateKey();
            var (privateKey, publicKey) = X25519Dh.Export(key);
            X25519Dh.Erase(state.SendingPrivateKey);
            state.SendingPrivateKey = privateKey;
            state.SendingPublicKey = publicKey;
            X25519Dh.Agree(key, state.ReceivingKey, dh);
            (rootKey, var sendingChainKey) = RatchetCrypto.KdfRootKey(state.RootKey, dh);
            ReplaceRoot(state, rootKey);
            X25519Dh.Erase(state.SendingChainKey);
            state.SendingChainKey = sendingChainKey;
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
