using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Storage;
using Pigeon.Protocol.Wire;

namespace Pigeon.Protocol;

/// <summary>What <see cref="SessionRecord.Decrypt(IdentityKeyPair, PrekeyStore, OpenedEnvelope, DateTimeOffset)"/> found.</summary>
/// <param name="Plaintext">The message's plaintext.</param>
/// <param name="Session">The session that decrypted it; persist the record afterwards.</param>
/// <param name="OpenedArchivedSession">The session was not the current one when the message arrived (an older session, or the losing side of a simultaneous setup).</param>
/// <param name="StartedNewSession">The message was a first message that set up a new session (a contact request, if the sender is unknown).</param>
public sealed record SessionRecordDecryption(byte[] Plaintext, Session Session, bool OpenedArchivedSession, bool StartedNewSession);

/// <summary>
/// Sesame-style session management for one remote device (Signal's "The Sesame Algorithm", §2-§3): the
/// current session, which sends, and a bounded archive of earlier ones that still decrypt. A message
/// is tried only against this record, chosen by the sender the sealed envelope proves, and within it
/// only against the session whose id it names: one session per envelope, at most one DH ratchet step
/// and <see cref="Ratchet.DoubleRatchet.MaxSkip"/> chain-key derivations. Not thread-safe; persist with
/// <see cref="Serialize"/> after every successful decryption and every encryption.
/// </summary>
/// <remarks>
/// Which session is current, on both sides alike: after a message decrypts with a session that is not
/// current, that session becomes current (Sesame: the peer is using it), unless the current session is
/// one this side started and has had no reply to yet, and its base key is lower: then it stays. Two
/// sides that start sessions with each other at once thus both keep the one with the lower base key,
/// and in every other case the receiver adopts the session its peer sends on.
/// </remarks>
public sealed class SessionRecord
{
    /// <summary>How many earlier sessions are kept besides the current one (Sesame's archive); the least recently current is dropped first.</summary>
    public const int MaxArchivedSessions = 8;

    private static readonly byte[] Magic = "PGSR"u8.ToArray();
    private const byte FormatVersion = 1;
    private const int MaxSessionBlobSize = 1024 * 1024;

    // Most recently current first.
    private readonly List<Session> _archive = [];
    private Session? _current;

    /// <summary>The session that sends, or null before any exists.</summary>
    public Session? Current => _current;

    /// <summary>The earlier sessions, most recently current first. They decrypt but never send.</summary>
    public IReadOnlyList<Session> Archived => _archive;

    /// <summary>The current session, then the archive.</summary>
    public IEnumerable<Session> Sessions => _current is null ? _archive : _archive.Prepend(_current);

    /// <summary>The remote identity all sessions of the record share, or null for an empty record.</summary>
    public PublicIdentity? RemoteIdentity => Sessions.FirstOrDefault()?.RemoteIdentity;

    /// <summary>
    /// Makes a session this side started (<see cref="Session.Initiate"/>) current; the previous current
    /// session goes to the archive.
    /// </summary>
    /// <exception cref="ArgumentException">The session is with another identity than the record's.</exception>
    public void Activate(Session session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (RemoteIdentity is { } remote && !remote.Equals(session.RemoteIdentity))
        {
            throw new ArgumentException("The session is with another identity than this record's.", nameof(session));
        }

        MakeCurrent(session);
    }

    /// <summary>Encrypts with the current session.</summary>
    /// <exception cref="InvalidOperationException">The record has no session.</exception>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext) =>
        (_current ?? throw new InvalidOperationException("The record has no session to send with.")).Encrypt(plaintext);

    /// <summary>
    /// Decrypts the ratchet message of an envelope opened by <see cref="SealedEnvelope.Open"/>, whose
    /// sender is this record's device. See <see cref="Decrypt(IdentityKeyPair, PrekeyStore, PublicIdentity, WireMessage, DateTimeOffset)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The envelope carries no ratchet message.</exception>
    /// <exception cref="ProtocolException">See the other overload.</exception>
    public SessionRecordDecryption Decrypt(IdentityKeyPair self, PrekeyStore prekeys, OpenedEnvelope envelope, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.ContentType != EnvelopeContentType.RatchetMessage)
        {
            throw new ArgumentException("The envelope carries no ratchet message.", nameof(envelope));
        }

        return Decrypt(self, prekeys, envelope.SenderIdentity, WireMessage.Parse(envelope.Content), now);
    }

    /// <summary>
    /// Decrypts a message from <paramref name="sender"/> (the identity its sealed envelope proved). A
    /// first message of a setup the record holds goes to that session; a first message of a new setup
    /// starts a session (<see cref="Session.Accept(IdentityKeyPair, PrekeyStore, WireMessage, DateTimeOffset)"/>,
    /// which refuses a replayed setup); any other message goes to the session whose id it names. When
    /// this throws, neither the record nor <paramref name="prekeys"/> changed.
    /// </summary>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.IdentityMismatch"/> (the message's or record's identity is not the sender's),
    /// <see cref="ProtocolError.WrongSession"/> (no session of the record has its id),
    /// <see cref="ProtocolError.ReplayedSetup"/>, <see cref="ProtocolError.DuplicateMessage"/>, or any refusal of <see cref="Session.Decrypt(WireMessage, DateTimeOffset)"/>.
    /// </exception>
    public SessionRecordDecryption Decrypt(IdentityKeyPair self, PrekeyStore prekeys, PublicIdentity sender, WireMessage message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(prekeys);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(message);
        if (RemoteIdentity is { } remote && !remote.Equals(sender))
        {
            throw new ProtocolException(ProtocolError.IdentityMismatch, "The sender is not this record's identity.");
        }

        if (message.Prelude is { } prelude && !prelude.SenderIdentity.Equals(sender))
        {
            throw new ProtocolException(ProtocolError.IdentityMismatch, "The first message names another identity than its envelope's sender.");
        }

        var session = message.Prelude is null
            ? Sessions.FirstOrDefault(s => s.SessionId.AsSpan().SequenceEqual(message.Header.SessionId))
            : Sessions.FirstOrDefault(s => s.IsSetupOf(message));
        if (session is null && message.Prelude is null)
        {
            throw new ProtocolException(ProtocolError.WrongSession, "No session of this contact has the message's session id.");
        }

        if (session is null)
        {
            var accepted = Session.Accept(self, prekeys, message, now);
            MakeCurrentUnlessOursWins(accepted.Session);
            return new SessionRecordDecryption(accepted.Plaintext, accepted.Session, OpenedArchivedSession: false, StartedNewSession: true);
        }

        var wasArchived = !ReferenceEquals(session, _current);
        var plaintext = session.Decrypt(message, now);
        MakeCurrentUnlessOursWins(session);
        return new SessionRecordDecryption(plaintext, session, wasArchived, StartedNewSession: false);
    }

    /// <summary>Versioned private blob ("PGSR", version 1): the current session and the archive. Encrypt it at rest.</summary>
    public byte[] Serialize()
    {
        var writer = new BlobWriter(8192);
        StoredFormat.WriteHeader(writer, Magic, FormatVersion);
        writer.WriteBool(_current is not null);
        if (_current is not null)
        {
            writer.WriteVariable(_current.Serialize());
        }

        writer.WriteUInt32((uint)_archive.Count);
        foreach (var session in _archive)
        {
            writer.WriteVariable(session.Serialize());
        }

        return writer.ToArrayAndErase();
    }

    /// <summary>Restores a record from <see cref="Serialize"/>.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.InvalidState"/> or <see cref="ProtocolError.UnsupportedVersion"/>.</exception>
    public static SessionRecord Deserialize(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.InvalidState);
        StoredFormat.ReadHeader(ref reader, Magic, FormatVersion);
        var record = new SessionRecord();
        if (reader.ReadBool())
        {
            record._current = Session.Deserialize(reader.ReadVariable(MaxSessionBlobSize));
        }

        var count = reader.ReadCount(MaxArchivedSessions);
        for (var i = 0; i < count; i++)
        {
            record._archive.Add(Session.Deserialize(reader.ReadVariable(MaxSessionBlobSize)));
        }

        reader.EnsureEnd();
        var sessions = record.Sessions.ToList();
        if (sessions.Any(s => !s.RemoteIdentity.Equals(sessions[0].RemoteIdentity))
            || sessions.Select(s => Convert.ToHexString(s.SessionId)).Distinct().Count() != sessions.Count)
        {
            throw reader.Fail("the record's sessions are not one identity's, or repeat");
        }

        return record;
    }

    private void MakeCurrentUnlessOursWins(Session session)
    {
        if (ReferenceEquals(session, _current))
        {
            return;
        }

        // A simultaneous start: both sides keep the setup with the lower base key (see remarks).
        if (_current is { IsInitiator: true, IsAcknowledged: false } ours
            && ours.BaseKey.AsSpan().SequenceCompareTo(session.BaseKey) < 0)
        {
            _archive.Remove(session);
            _archive.Insert(0, session);
            TrimArchive();
            return;
        }

        MakeCurrent(session);
    }

    private void MakeCurrent(Session session)
    {
        _archive.Remove(session);
        // Ids are unique within a record, so a message never has two candidates.
        _archive.RemoveAll(s => s.SessionId.AsSpan().SequenceEqual(session.SessionId));
        if (_current is not null && !ReferenceEquals(_current, session))
        {
            _archive.Insert(0, _current);
        }

        _current = session;
        TrimArchive();
    }

    private void TrimArchive()
    {
        if (_archive.Count > MaxArchivedSessions)
        {
            _archive.RemoveRange(MaxArchivedSessions, _archive.Count - MaxArchivedSessions);
        }
    }
}
