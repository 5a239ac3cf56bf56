using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Ratchet;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Wire;

/// <summary>The two kinds of message on the wire.</summary>
public enum MessageType : byte
{
    /// <summary>A Double Ratchet message in an established session.</summary>
    Message = 1,

    /// <summary>A message that also carries the PQXDH setup material; the initiator sends these until the first reply.</summary>
    PrekeyMessage = 2,
}

/// <summary>
/// The PQXDH initial-message material (PQXDH §3.3 "Alice then sends Bob an initial message"): the
/// sender's public identity, the ephemeral key, the ids of the prekeys used and the ML-KEM ciphertext.
/// </summary>
public sealed record PqxdhPrelude(
    PublicIdentity SenderIdentity,
    byte[] EphemeralKey,
    uint SignedPrekeyId,
    uint? OneTimePrekeyId,
    uint MlKemPrekeyId,
    byte[] MlKemCiphertext)
{
    /// <summary>The sender's account id, derived from <see cref="SenderIdentity"/>.</summary>
    public string SenderAccountId => SenderIdentity.AccountId;
}

/// <summary>
/// The Double Ratchet header (§3.4 HEADER: the sender's ratchet public key, previous chain length and
/// message number) with Pigeon's two additions: the id of the session it belongs to
/// (<see cref="Session.SessionId"/>), so a receiver tries exactly one of a contact's sessions, and the
/// per-message salt that enters the message's key and nonce derivation.
/// </summary>
public readonly record struct RatchetHeader(byte[] SessionId, byte[] RatchetKey, uint PreviousChainLength, uint MessageNumber, byte[] MessageSalt);

/// <summary>
/// Pigeon's binary ratchet message format, version 2. All integers are big-endian; every size is fixed
/// except the ciphertext, which takes the rest and must be a padding bucket plus the 16-byte tag.
/// On the network it travels only inside a sealed envelope (<see cref="Envelope.SealedEnvelope"/>).
/// <code>
/// version        1   (= 2)
/// type           1   (1 = Message, 2 = PrekeyMessage)
/// -- PrekeyMessage only: PQXDH prelude --
/// sender signing key     32
/// sender agreement key   32
/// agreement key sig      64
/// ephemeral key          32
/// signed prekey id        4
/// flags                   1   (bit 0: a one-time prekey was used; other bits must be 0)
/// one-time prekey id      4   (only when flag bit 0)
/// ML-KEM prekey id        4
/// ML-KEM ciphertext    1568
/// -- header --
/// session id              8   (first 8 bytes of SHA-256("Pigeon/2/session-id" 0x00 ‖ base key))
/// ratchet key            32
/// previous chain length   4
/// message number          4
/// message salt           16
/// -- body --
/// AES-256-GCM ciphertext of the padded plaintext, then its 16-byte tag
/// </code>
/// Everything before the body is the associated data of the AEAD (after the session's own AD), so
/// any change to it fails authentication.
/// </summary>
public sealed class WireMessage
{
    /// <summary>Size of the ratchet header.</summary>
    public const int HeaderSize = SessionIdSize + ProtocolInfo.PublicKeySize + 4 + 4 + Ratchet.RatchetCrypto.MessageSaltSize;

    /// <summary>Size of a session id.</summary>
    public const int SessionIdSize = 8;

    /// <summary>Size of the authentication tag at the end of the body.</summary>
    public const int TagSize = 16;

    private const byte OneTimePrekeyFlag = 0x01;

    private readonly byte[] _data;
    private readonly int _bodyOffset;

    private WireMessage(byte[] data, MessageType type, PqxdhPrelude? prelude, RatchetHeader header, int bodyOffset)
    {
        _data = data;
        Type = type;
        Prelude = prelude;
        Header = header;
        _bodyOffset = bodyOffset;
    }

    /// <summary>The message type.</summary>
    public MessageType Type { get; }

    /// <summary>The PQXDH material when <see cref="Type"/> is <see cref="MessageType.PrekeyMessage"/>, else null.</summary>
    public PqxdhPrelude? Prelude { get; }

    /// <summary>The ratchet header.</summary>
    public RatchetHeader Header { get; }

    internal ReadOnlySpan<byte> AuthenticatedPrefix => _data.AsSpan(0, _bodyOffset);

    internal ReadOnlySpan<byte> Body => _data.AsSpan(_bodyOffset);

    /// <summary>Parses strictly: unknown versions, types or flags, wrong lengths and trailing bytes are refused.</summary>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.UnsupportedVersion"/>, <see cref="ProtocolError.Malformed"/> or <see cref="ProtocolError.TooLarge"/>.
    /// </exception>
    public static WireMessage Parse(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.Malformed);
        var version = reader.ReadByte();
        if (version != ProtocolInfo.WireVersion)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"Wire version {version} is not supported.");
        }

        var type = (MessageType)reader.ReadByte();
        PqxdhPrelude? prelude = type switch
        {
            MessageType.Message => null,
            MessageType.PrekeyMessage => ReadPrelude(ref reader),
            _ => throw reader.Fail("unknown message type"),
        };
        var header = new RatchetHeader(
            reader.ReadFixedArray(SessionIdSize),
            reader.ReadFixedArray(ProtocolInfo.PublicKeySize),
            reader.ReadUInt32(),
            reader.ReadUInt32(),
            reader.ReadFixedArray(Ratchet.RatchetCrypto.MessageSaltSize));
        if (prelude is not null && !header.SessionId.AsSpan().SequenceEqual(Session.SessionIdOf(prelude.EphemeralKey)))
        {
            throw reader.Fail("the session id is not the prelude's");
        }

        var bodyOffset = reader.Position;
        var bodyLength = reader.Remaining;
        if (bodyLength - TagSize > Padding.MaxPaddedSize)
        {
            throw new ProtocolException(ProtocolError.TooLarge, "Message body is larger than allowed.");
        }

        if (bodyLength < TagSize || !Padding.IsBucketSize(bodyLength - TagSize))
        {
            throw reader.Fail("body length is not a padding bucket plus the tag");
        }

        return new WireMessage(data.ToArray(), type, prelude, header, bodyOffset);
    }

    /// <summary>Writes version, type, prelude and header: the authenticated prefix the body is appended to.</summary>
    internal static BlobWriter WritePrefix(PqxdhPrelude? prelude, RatchetHeader header, int bodyLength)
    {
        var writer = new BlobWriter(2 + (prelude is null ? 0 : 1900) + HeaderSize + bodyLength);
        writer.WriteByte(ProtocolInfo.WireVersion);
        writer.WriteByte((byte)(prelude is null ? MessageType.Message : MessageType.PrekeyMessage));
        if (prelude is not null)
        {
            WritePrelude(writer, prelude);
        }

        writer.WriteFixed(header.SessionId);
        writer.WriteFixed(header.RatchetKey);
        writer.WriteUInt32(header.PreviousChainLength);
        writer.WriteUInt32(header.MessageNumber);
        writer.WriteFixed(header.MessageSalt);
        return writer;
    }

    internal static void WritePrelude(BlobWriter writer, PqxdhPrelude prelude)
    {
        prelude.SenderIdentity.Write(writer);
        writer.WriteFixed(prelude.EphemeralKey);
        writer.WriteUInt32(prelude.SignedPrekeyId);
        writer.WriteByte(prelude.OneTimePrekeyId is null ? (byte)0 : OneTimePrekeyFlag);
        if (prelude.OneTimePrekeyId is uint oneTime)
        {
            writer.WriteUInt32(oneTime);
        }

        writer.WriteUInt32(prelude.MlKemPrekeyId);
        writer.WriteFixed(prelude.MlKemCiphertext);
    }

    internal static PqxdhPrelude ReadPrelude(ref BlobReader reader)
    {
        var identity = PublicIdentity.Read(ref reader);
        var ephemeral = reader.ReadFixedArray(ProtocolInfo.PublicKeySize);
        var signedPrekeyId = reader.ReadUInt32();
        var flags = reader.ReadByte();
        if ((flags & ~OneTimePrekeyFlag) != 0)
        {
            throw reader.Fail("unknown prelude flags");
        }

        uint? oneTimeId = (flags & OneTimePrekeyFlag) != 0 ? reader.ReadUInt32() : null;
        var mlKemId = reader.ReadUInt32();
        var ciphertext = reader.ReadFixedArray(ProtocolInfo.MlKemCiphertextSize);
        return new PqxdhPrelude(identity, ephemeral, signedPrekeyId, oneTimeId, mlKemId, ciphertext);
    }
}
