namespace Pigeon.Api;

/// <summary>
/// The limits of the API that clients rely on. A gateway's configurable limits
/// (<c>Pigeon:Limits</c>) and a mailbox's (<c>Pigeon:Mailbox</c>) default to these, so a client
/// that stays within them is served by a gateway with default settings.
/// </summary>
public static class ApiLimits
{
    /// <summary>
    /// The longest a receive may wait on the server, in seconds: below Orleans' 30 s response
    /// timeout, so a waiting receive always ends with an answer. Never configurable above this.
    /// </summary>
    public const int MaxWaitSeconds = 25;

    /// <summary>
    /// The most envelopes one receive returns, and the most ids one receive may acknowledge in
    /// <c>ack</c>; more go to <c>POST /v1/messages/ack</c>.
    /// </summary>
    public const int MaxReceiveBatch = 100;

    /// <summary>The most message ids one <c>POST /v1/messages/ack</c> may carry.</summary>
    public const int MaxAckBatch = 1_000;

    /// <summary>The most envelopes one deposit may carry: a message to a group of 256 members (one device each) is one request.</summary>
    public const int MaxDepositBatch = 256;

    /// <summary>
    /// The largest envelope payload, in bytes (before base64): 64 KiB. Pigeon.Protocol's padding
    /// ceiling (48 KiB) keeps the largest message, a first message with its PQXDH prelude and sealed,
    /// below it; a test holds the two in step.
    /// </summary>
    public const int MaxEnvelopeBytes = 64 * 1024;

    /// <summary>
    /// The longest a server keeps an envelope for its recipient, in days: 30. A server may keep them
    /// for less (<c>Pigeon:Mailbox:EnvelopeTtl</c>), never for more; clients keep the private prekeys a
    /// first message may use at least this long after they stop handing them out.
    /// </summary>
    public const int MaxEnvelopeLifetimeDays = 30;

    /// <summary>The most one-time prekeys of each kind one upload may carry.</summary>
    public const int MaxPrekeysPerUpload = 200;

    /// <summary>The most bytes a provisioning message (a new device's profile, encrypted) carries.</summary>
    public const int MaxProvisioningBytes = 1024 * 1024;

    // The key sizes are Pigeon.Protocol's (ProtocolInfo), stated again here because the contract
    // depends on nothing; a test holds the two equal.

    /// <summary>The size of an Ed25519 or X25519 public key (identity keys, signed and one-time prekeys).</summary>
    public const int PublicKeyBytes = 32;

    /// <summary>The size of an ML-KEM-1024 public key (KEM prekeys).</summary>
    public const int KemPublicKeyBytes = 1568;

    /// <summary>The size of an Ed25519 signature (over the agreement key, a prekey or a challenge).</summary>
    public const int SignatureBytes = 64;

    /// <summary>A delivery key as a sealed deposit presents it: epoch (4) ‖ 32 random bytes (Pigeon.Protocol's <c>DeliveryKey</c>).</summary>
    public const int DeliveryKeyBytes = 36;

    /// <summary>The verifier of a delivery key that the server keeps: a SHA-256 hash.</summary>
    public const int DeliveryKeyVerifierBytes = 32;

    /// <summary>
    /// Ciphertext bytes per uploaded attachment chunk: 1 MiB (the last chunk may be shorter). One
    /// chunk is what a gateway holds of an attachment at a time, and what a dropped upload loses.
    /// </summary>
    public const int AttachmentChunkBytes = 1024 * 1024;

    /// <summary>The size of an attachment's download capability, in bytes.</summary>
    public const int AttachmentCapabilityBytes = 32;

    /// <summary>The header that carries an attachment's download capability (base64), instead of a token.</summary>
    public const string AttachmentCapabilityHeader = "X-Pigeon-Capability";
}
