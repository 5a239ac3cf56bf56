using Pigeon.Protocol.Storage;
using Pigeon.Protocol.Wire;

namespace Pigeon.Protocol.Envelope;

/// <summary>
/// "I could not decrypt your message" (the role of libsignal's DecryptionErrorMessage), sent back to the
/// authenticated sender of a message that failed, inside a sealed envelope
/// (<see cref="EnvelopeContentType.DecryptionErrorNotice"/>). It names the failed message as far as it
/// could be read, so the sender can resend it or, when the session it names is its current one,
/// start a new session. It holds no plaintext and no key. Layout (integers big-endian):
/// <code>
/// reason          1   (<see cref="ProtocolError"/> value)
/// flags           1   (bit 0: session id present, bit 1: ratchet key and message number present)
/// [session id     8]
/// [ratchet key   32 ‖ message number 4]
/// message id     16   (the failed envelope's message id as deposited; all zero when unknown)
/// failed at       8   (Unix milliseconds)
/// </code>
/// </summary>
/// <param name="MessageId">The failed envelope's message id, <see cref="Guid.Empty"/> when unknown.</param>
/// <param name="FailedAt">When decryption failed.</param>
/// <param name="Reason">Why.</param>
/// <param name="SessionId">The session the failed message named, if it parsed that far.</param>
/// <param name="RatchetKey">The failed message's ratchet key, if it parsed that far.</param>
/// <param name="MessageNumber">The failed message's number in its chain, with <paramref name="RatchetKey"/>.</param>
public sealed record DecryptionErrorNotice(Guid MessageId, DateTimeOffset FailedAt, ProtocolError Reason, byte[]? SessionId, byte[]? RatchetKey, uint? MessageNumber)
{
    private const byte SessionIdFlag = 0x01;
    private const byte RatchetFlag = 0x02;

    /// <summary>
    /// The notice for a ratchet message (the content of an opened envelope) that failed with
    /// <paramref name="reason"/>: whatever of its header parses is named.
    /// </summary>
    public static DecryptionErrorNotice For(Guid messageId, ReadOnlySpan<byte> failedRatchetMessage, ProtocolError reason, DateTimeOffset failedAt)
    {
        try
        {
            var header = WireMessage.Parse(failedRatchetMessage).Header;
            return new DecryptionErrorNotice(messageId, failedAt, reason, header.SessionId, header.RatchetKey, header.MessageNumber);
        }
        catch (ProtocolException)
        {
            return new DecryptionErrorNotice(messageId, failedAt, reason, null, null, null);
        }
    }

    /// <summary>The encoding above, to seal as the content of an envelope.</summary>
    /// <exception cref="ArgumentException">A field has the wrong size, or the ratchet key and message number are not both present or both absent.</exception>
    public byte[] ToBytes()
    {
        if (SessionId is { Length: not WireMessage.SessionIdSize } || RatchetKey is { Length: not ProtocolInfo.PublicKeySize } || (RatchetKey is null) != (MessageNumber is null))
        {
            throw new ArgumentException("The notice's fields do not fit its format.");
        }

        var writer = new BlobWriter(80);
        writer.WriteByte((byte)Reason);
        writer.WriteByte((byte)((SessionId is null ? 0 : SessionIdFlag) | (RatchetKey is null ? 0 : RatchetFlag)));
        if (SessionId is not null)
        {
            writer.WriteFixed(SessionId);
        }

        if (RatchetKey is not null)
        {
            writer.WriteFixed(RatchetKey);
            writer.WriteUInt32(MessageNumber!.Value);
        }

        writer.WriteFixed(MessageId.ToByteArray(bigEndian: true));
        writer.WriteInt64(FailedAt.ToUnixTimeMilliseconds());
        return writer.ToArray();
    }

    /// <summary>Parses <see cref="ToBytes"/> strictly.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.Malformed"/>.</exception>
    public static DecryptionErrorNotice Parse(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.Malformed);
        var reason = (ProtocolError)reader.ReadByte();
        var flags = reader.ReadByte();
        if (!Enum.IsDefined(reason) || (flags & ~(SessionIdFlag | RatchetFlag)) != 0)
        {
            throw reader.Fail("unknown notice reason or flags");
        }

        var sessionId = (flags & SessionIdFlag) != 0 ? reader.ReadFixedArray(WireMessage.SessionIdSize) : null;
        byte[]? ratchetKey = null;
        uint? messageNumber = null;
        if ((flags & RatchetFlag) != 0)
        {
            ratchetKey = reader.ReadFixedArray(ProtocolInfo.PublicKeySize);
            messageNumber = reader.ReadUInt32();
        }

        var messageId = new Guid(reader.ReadFixed(16), bigEndian: true);
        var failedAt = reader.ReadInt64();
        reader.EnsureEnd();
        if (failedAt < 0 || failedAt > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw reader.Fail("time out of range");
        }

        return new DecryptionErrorNotice(messageId, DateTimeOffset.FromUnixTimeMilliseconds(failedAt), reason, sessionId, ratchetKey, messageNumber);
    }

    /// <summary>True when the notice is about a message of <paramref name="session"/>: the sender should then start a new session.</summary>
    public bool Concerns(Session session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return SessionId is not null && SessionId.AsSpan().SequenceEqual(session.SessionId);
    }

    /// <inheritdoc/>
    public bool Equals(DecryptionErrorNotice? other) =>
        other is not null && MessageId == other.MessageId && FailedAt == other.FailedAt && Reason == other.Reason
        && MessageNumber == other.MessageNumber
        && (SessionId ?? []).AsSpan().SequenceEqual(other.SessionId ?? []) && (SessionId is null) == (other.SessionId is null)
        && (RatchetKey ?? []).AsSpan().SequenceEqual(other.RatchetKey ?? []) && (RatchetKey is null) == (other.RatchetKey is null);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(MessageId, FailedAt, Reason, MessageNumber);
}
