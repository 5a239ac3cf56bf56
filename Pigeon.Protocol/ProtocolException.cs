namespace Pigeon.Protocol;

/// <summary>Why the protocol refused an input.</summary>
public enum ProtocolError
{
    /// <summary>The bytes do not parse: a length, a field or a flag is wrong.</summary>
    Malformed = 1,

    /// <summary>The format version (wire or stored) is one this library does not know.</summary>
    UnsupportedVersion,

    /// <summary>A public key is not acceptable (wrong size, invalid encoding, or a low-order point).</summary>
    InvalidKey,

    /// <summary>A signature does not verify.</summary>
    InvalidSignature,

    /// <summary>Keys do not hash to the expected account id.</summary>
    IdentityMismatch,

    /// <summary>A message names a prekey that is unknown or already used.</summary>
    UnknownPrekey,

    /// <summary>Authenticated decryption failed: the message was altered, or belongs to another session.</summary>
    DecryptionFailed,

    /// <summary>The message was already decrypted (its key is gone).</summary>
    DuplicateMessage,

    /// <summary>The message would need more skipped message keys than the bound allows.</summary>
    TooManySkippedMessages,

    /// <summary>The message does not belong to this session.</summary>
    WrongSession,

    /// <summary>A stored blob (identity, prekeys, session) is corrupt.</summary>
    InvalidState,

    /// <summary>A plaintext or message is larger than the protocol allows.</summary>
    TooLarge,

    /// <summary>A first message whose session setup (base key) was accepted before: a replay, never a new session.</summary>
    ReplayedSetup,

    /// <summary>A signed, versioned value (a device list) older than, or different at the same version from, one already accepted.</summary>
    RolledBack,
}

/// <summary>
/// The one exception the public API raises for bad input: malformed bytes, failed signatures or
/// authentication, unknown prekeys. <see cref="Reason"/> says which.
/// </summary>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates the exception with a reason and a message.</summary>
    public ProtocolException(ProtocolError reason, string message)
        : base(message) => Reason = reason;

    /// <summary>Creates the exception with a reason, a message and the library exception behind it.</summary>
    public ProtocolException(ProtocolError reason, string message, Exception innerException)
        : base(message, innerException) => Reason = reason;

    /// <summary>Why the input was refused.</summary>
    public ProtocolError Reason { get; }

    /// <summary>Builds the exception for <see cref="ProtocolError.Malformed"/>.</summary>
    internal static ProtocolException Malformed(string what) => new(ProtocolError.Malformed, what);
}
