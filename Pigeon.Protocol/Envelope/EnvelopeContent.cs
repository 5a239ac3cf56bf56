namespace Pigeon.Protocol.Envelope;

/// <summary>What a sealed envelope carries (the first byte of its inner plaintext).</summary>
public enum EnvelopeContentType : byte
{
    /// <summary>A ratchet message (<see cref="Wire.WireMessage"/>, version 2).</summary>
    RatchetMessage = 1,

    /// <summary>
    /// A <see cref="DecryptionErrorNotice"/>: the sender could not decrypt a message from the recipient.
    /// It is not ratchet-encrypted (the session may be what broke); the envelope's auth mode still
    /// proves who sent it, and only the recipient can read it.
    /// </summary>
    DecryptionErrorNotice = 2,
}

/// <summary>
/// An opened envelope: who sent it, proven (HPKE auth mode with the sender's identity X25519 key, whose
/// public half hashes with the signing key to the sender's account id), and what it carries.
/// </summary>
/// <param name="Sender">The sender's address. Attribute failures further in (a ratchet message that does not decrypt) to it, never to anything inside the content.</param>
/// <param name="SenderIdentity">The sender's public identity keys, checked against <see cref="DeviceAddress.AccountId"/>; its agreement-key signature is checked where a session is accepted (see <see cref="SealedEnvelope.Open"/>).</param>
/// <param name="ContentType">What <paramref name="Content"/> is.</param>
/// <param name="Content">The payload: a ratchet message or a notice.</param>
public sealed record OpenedEnvelope(DeviceAddress Sender, Identity.PublicIdentity SenderIdentity, EnvelopeContentType ContentType, byte[] Content);
