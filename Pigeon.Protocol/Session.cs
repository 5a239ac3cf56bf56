using System.Security.Cryptography;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Ratchet;
using Pigeon.Protocol.SessionSetup;
using Pigeon.Protocol.Storage;
using Pigeon.Protocol.Wire;

namespace Pigeon.Protocol;

/// <summary>The result of accepting a first message: the new session and the plaintext it carried.</summary>
public sealed record AcceptedSession(Session Session, byte[] Plaintext);

/// <summary>
/// An end-to-end encrypted session with one contact: PQXDH setup, then the Double Ratchet. The
/// initiator's messages carry the PQXDH prelude until the first reply arrives, so the session can be
/// set up even if earlier messages are lost. Not thread-safe; persist with <see cref="Serialize"/>
/// after every <see cref="Encrypt"/> and successful <see cref="Decrypt(ReadOnlySpan{byte})"/>.
/// </summary>
public sealed class Session
{
    private static readonly byte[] Magic = "PGSS"u8.ToArray();
    private const byte FormatVersion = 2;
    private const int MaxAssociatedDataSize = 1024;
    private static readonly byte[] SessionIdLabel = "Pigeon/2/session-id\0"u8.ToArray();

    private readonly byte[] _associatedData;
    private RatchetState _state;
    private PqxdhPrelude? _pendingPrelude;

    private Session(bool isInitiator, PublicIdentity localIdentity, PublicIdentity remoteIdentity, byte[] associatedData, byte[] baseKey, RatchetState state, PqxdhPrelude? pendingPrelude)
    {
        IsInitiator = isInitiator;
        LocalIdentity = localIdentity;
        RemoteIdentity = remoteIdentity;
        _associatedData = associatedData;
        BaseKey = baseKey;
        SessionId = SessionIdOf(baseKey);
        _state = state;
        _pendingPrelude = pendingPrelude;
    }

    /// <summary>True for the side that started the session from a bundle.</summary>
    public bool IsInitiator { get; }

    /// <summary>Our public identity in this session.</summary>
    public PublicIdentity LocalIdentity { get; }

    /// <summary>The contact's public identity (verified against its account id at setup).</summary>
    public PublicIdentity RemoteIdentity { get; }

    /// <summary>The contact's account id.</summary>
    public string RemoteAccountId => RemoteIdentity.AccountId;

    /// <summary>The initiator's PQXDH ephemeral public key: identifies the session setup (use it to spot a repeated first message).</summary>
    public byte[] BaseKey { get; }

    /// <summary>
    /// The session's id, first 8 bytes of SHA-256("Pigeon/2/session-id" 0x00 ‖ <see cref="BaseKey"/>): every
    /// message of the session carries it, so a receiver tries only this session for it.
    /// </summary>
    public byte[] SessionId { get; }

    /// <summary>True once the initiator has received a reply, so its messages no longer carry the prelude. Always true for a responder.</summary>
    public bool IsAcknowledged => _pendingPrelude is null;

    /// <summary>
    /// True when <paramref name="message"/> is a prekey message of this very setup (same sender identity
    /// and base key): the client should then <see cref="Decrypt(WireMessage)"/> it with this session
    /// instead of calling <see cref="Accept(IdentityKeyPair, PrekeyStore, WireMessage)"/> again.
    /// </summary>
    public bool IsSetupOf(WireMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return !IsInitiator
            && message.Prelude is { } prelude
            && CryptographicOperations.FixedTimeEquals(prelude.EphemeralKey, BaseKey)
            && prelude.SenderIdentity.Equals(RemoteIdentity);
    }

    /// <summary>
    /// Starts a session from a contact's prekey bundle (PQXDH §3.3). The bundle is verified first: its
    /// keys must hash to <paramref name="expectedAccountId"/> and all its signatures must hold.
    /// </summary>
    /// <exception cref="ProtocolException">The bundle is refused.</exception>
    public static Session Initiate(IdentityKeyPair self, PrekeyBundle bundle, string expectedAccountId)
    {
        var setup = Pqxdh.Initiate(self, bundle, expectedAccountId);
        try
        {
            var state = DoubleRatchet.InitializeInitiator(setup.SharedKey, setup.RemoteSignedPrekey);
            return new Session(true, self.PublicIdentity, bundle.Identity, setup.AssociatedData, setup.Prelude.EphemeralKey, state, setup.Prelude);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(setup.SharedKey);
        }
    }

    /// <summary>
    /// Answers a first message (a <see cref="MessageType.PrekeyMessage"/>) (PQXDH §3.4): derives the
    /// session, decrypts the message and only then deletes the one-time prekeys it used from
    /// <paramref name="prekeys"/>. Persist the store afterwards. Check <see cref="RemoteAccountId"/>
    /// against who you expect, or treat it as a contact request.
    /// </summary>
    /// <exception cref="ProtocolException">The message is malformed, names unknown prekeys or does not decrypt.</exception>
    public static AcceptedSession Accept(IdentityKeyPair self, PrekeyStore prekeys, ReadOnlySpan<byte> message) =>
        Accept(self, prekeys, WireMessage.Parse(message), DateTimeOffset.UtcNow);

    /// <inheritdoc cref="Accept(IdentityKeyPair, PrekeyStore, WireMessage, DateTimeOffset)"/>
    public static AcceptedSession Accept(IdentityKeyPair self, PrekeyStore prekeys, WireMessage message) =>
        Accept(self, prekeys, message, DateTimeOffset.UtcNow);

    /// <summary>
    /// Answers a first message (a <see cref="MessageType.PrekeyMessage"/>) (PQXDH §3.4): refuses a setup
    /// whose base key <paramref name="prekeys"/> has accepted before (<see cref="ProtocolError.ReplayedSetup"/>),
    /// derives the session, decrypts the message and only then deletes the one-time prekeys it used and
    /// remembers its base key. Persist the store afterwards. Check <see cref="RemoteAccountId"/> against
    /// who you expect, or treat it as a contact request.
    /// </summary>
    /// <exception cref="ProtocolException">The message is malformed, a replay, names unknown prekeys or does not decrypt.</exception>
    public static AcceptedSession Accept(IdentityKeyPair self, PrekeyStore prekeys, WireMessage message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(prekeys);
        ArgumentNullException.ThrowIfNull(message);
        var prelude = message.Prelude
            ?? throw new ProtocolException(ProtocolError.WrongSession, "Only a prekey message can start a session.");
        if (prekeys.HasAcceptedSetup(prelude.EphemeralKey))
        {
            // Without a one-time prekey a first message would set the same session up again; with one,
            // the key is gone. Either way the setup was accepted before: a replay, never a new session.
            throw new ProtocolException(ProtocolError.ReplayedSetup, "This session setup was accepted before.");
        }

        var setup = Pqxdh.Respond(self, prekeys, prelude);
        RatchetState state;
        try
        {
            state = DoubleRatchet.InitializeResponder(setup.SharedKey, setup.SignedPrekeyPrivate, setup.SignedPrekeyPublic);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(setup.SharedKey);
        }

        var session = new Session(false, self.PublicIdentity, prelude.SenderIdentity, setup.AssociatedData, prelude.EphemeralKey, state, null);
        var plaintext = session.DecryptCore(message, now);

        // PQXDH §3.4: one-time prekeys are deleted once used, so a replayed first message cannot reuse them.
        prekeys.ConsumeOneTime(prelude.OneTimePrekeyId, prelude.MlKemPrekeyId);
        prekeys.RecordAcceptedSetup(prelude.SignedPrekeyId, prelude.EphemeralKey);
        return new AcceptedSession(session, plaintext);
    }

    /// <summary>Encrypts (Double Ratchet §3.4 RatchetEncrypt) a padded plaintext and returns the wire message.</summary>
    /// <exception cref="ProtocolException">The plaintext is larger than <see cref="Padding.MaxPlaintextSize"/>.</exception>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext) => EncryptPadded(Padding.Pad(plaintext));

    /// <summary>Encrypts an already padded plaintext (and zeroes it); tests use it to send bad padding.</summary>
    internal byte[] EncryptPadded(byte[] padded)
    {
        var (ratchetKey, previousChainLength, messageNumber, messageKey) = DoubleRatchet.NextSendingKey(_state);
        try
        {
            var header = new RatchetHeader(SessionId, ratchetKey, previousChainLength, messageNumber, RatchetCrypto.MessageSalt(messageKey, padded));
            var writer = WireMessage.WritePrefix(_pendingPrelude, header, padded.Length + WireMessage.TagSize);
            var body = RatchetCrypto.Seal(messageKey, header.MessageSalt, padded, [.. _associatedData, .. writer.WrittenSpan]);
            writer.WriteFixed(body);
            return writer.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(messageKey);
            CryptographicOperations.ZeroMemory(padded);
        }
    }

    /// <summary>Decrypts with the system clock as "now" (for the age of skipped keys); see <see cref="Decrypt(WireMessage, DateTimeOffset)"/>.</summary>
    /// <exception cref="ProtocolException">Malformed, altered, replayed, too far ahead, or not of this session.</exception>
    public byte[] Decrypt(ReadOnlySpan<byte> message) => Decrypt(WireMessage.Parse(message), DateTimeOffset.UtcNow);

    /// <inheritdoc cref="Decrypt(ReadOnlySpan{byte})"/>
    public byte[] Decrypt(WireMessage message) => Decrypt(message, DateTimeOffset.UtcNow);

    /// <summary>
    /// Decrypts a message of this session (Double Ratchet §3.5 RatchetDecrypt). When it throws, nothing
    /// changed: the state, the skipped keys and the pending prelude are as before, padding checks included.
    /// Each message decrypts once: its key is erased. Skipped keys older than
    /// <see cref="DoubleRatchet.MaxSkippedKeyAge"/> at <paramref name="now"/> are deleted.
    /// </summary>
    /// <exception cref="ProtocolException">Malformed, altered, replayed, too far ahead, or not of this session.</exception>
    public byte[] Decrypt(WireMessage message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Prelude is not null && !IsSetupOf(message))
        {
            throw new ProtocolException(ProtocolError.WrongSession, "The prekey message sets up a different session.");
        }

        return DecryptCore(message, now);
    }

    private byte[] DecryptCore(WireMessage message, DateTimeOffset now)
    {
        if (!CryptographicOperations.FixedTimeEquals(message.Header.SessionId, SessionId))
        {
            throw new ProtocolException(ProtocolError.WrongSession, "The message belongs to another session.");
        }

        var working = _state.Clone();
        byte[]? messageKey = null;
        byte[]? padded = null;
        byte[] plaintext;
        try
        {
            messageKey = DoubleRatchet.ReceivingKey(working, message.Header, now);
            padded = RatchetCrypto.Open(messageKey, message.Header.MessageSalt, message.Body, [.. _associatedData, .. message.AuthenticatedPrefix]);
            plaintext = Padding.Unpad(padded);
            DoubleRatchet.CompleteDhRatchet(working);
        }
        catch
        {
            // Nothing is committed: the message key stays where it was (a skipped key or the chain).
            working.EraseScalars();
            throw;
        }
        finally
        {
            if (padded is not null)
            {
                CryptographicOperations.ZeroMemory(padded);
            }
        }

        // Authenticated and well-formed: commit the new state (§3.5) and erase what the old one held.
        CryptographicOperations.ZeroMemory(messageKey);
        working.EraseSkippedDroppedSince(_state);
        _state.EraseScalars();
        _state = working;
        _pendingPrelude = null;
        return plaintext;
    }

    /// <summary>First 8 bytes of SHA-256("Pigeon/2/session-id" 0x00 ‖ base key).</summary>
    internal static byte[] SessionIdOf(ReadOnlySpan<byte> baseKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData([.. SessionIdLabel, .. baseKey], hash);
        return hash[..WireMessage.SessionIdSize].ToArray();
    }

    /// <summary>
    /// Versioned private blob ("PGSS", version 2) of the whole session state, skipped keys included.
    /// Encrypt it at rest; it holds chain keys.
    /// </summary>
    public byte[] Serialize()
    {
        var writer = new BlobWriter(4096);
        StoredFormat.WriteHeader(writer, Magic, FormatVersion);
        writer.WriteBool(IsInitiator);
        LocalIdentity.Write(writer);
        RemoteIdentity.Write(writer);
        writer.WriteVariable(_associatedData);
        writer.WriteFixed(BaseKey);
        writer.WriteBool(_pendingPrelude is not null);
        if (_pendingPrelude is not null)
        {
            WireMessage.WritePrelude(writer, _pendingPrelude);
        }

        _state.Write(writer);
        return writer.ToArrayAndErase();
    }

    /// <summary>Restores a session from <see cref="Serialize"/>.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.InvalidState"/> or <see cref="ProtocolError.UnsupportedVersion"/>.</exception>
    public static Session Deserialize(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.InvalidState);
        StoredFormat.ReadHeader(ref reader, Magic, FormatVersion);
        var isInitiator = reader.ReadBool();
        var local = PublicIdentity.Read(ref reader);
        var remote = PublicIdentity.Read(ref reader);
        var associatedData = reader.ReadVariable(MaxAssociatedDataSize);
        var baseKey = reader.ReadFixedArray(ProtocolInfo.PublicKeySize);
        var prelude = reader.ReadBool() ? WireMessage.ReadPrelude(ref reader) : null;
        var state = RatchetState.Read(ref reader);
        reader.EnsureEnd();
        if (prelude is not null && !isInitiator)
        {
            throw reader.Fail("a responder has no pending prelude");
        }

        return new Session(isInitiator, local, remote, associatedData, baseKey, state, prelude);
    }
}
