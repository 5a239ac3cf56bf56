using System.Text;
using Pigeon.Protocol.Hpke;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Envelope;

/// <summary>
/// Sealed sender over HPKE (RFC 9180), version 2. Two layers, each one HPKE single-shot encryption
/// with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM to the recipient's identity X25519 key:
/// <list type="number">
/// <item>outer, mode_base (§5.1.1): hides who sends; its plaintext is the sender's public identity,
/// address and the inner layer;</item>
/// <item>inner, mode_auth (§5.1.3) with the sender's identity X25519 key as skS: proves who sends
/// without a signature, so the recipient can attribute the message and nobody else can prove that
/// the sender wrote it (§9.1.1: auth mode is deniable towards third parties).</item>
/// </list>
/// The sender's keys are checked against the sender's self-certifying account id, not against any
/// certificate: the account id is a hash of both keys. Both layers' info name the version and the
/// recipient's address; the inner's also the sender's; the inner's aad is the outer's encapsulated key,
/// so an inner layer cannot be moved into another envelope. Layout (integers big-endian):
/// <code>
/// envelope   = version 1 (= 2) ‖ enc_outer 32 ‖ ct_outer
/// ct_outer   = HPKE base: info "Pigeon/2/sealed-envelope/outer" 0x00 ‖ version ‖ recipient address, aad = version
/// pt_outer   = sender signing key 32 ‖ sender agreement key 32 ‖ agreement key signature 64 ‖
///              sender address 36 ‖ enc_inner 32 ‖ ct_inner
/// ct_inner   = HPKE auth:  info "Pigeon/2/sealed-envelope/inner" 0x00 ‖ version ‖ recipient address ‖ sender address,
///              aad = enc_outer
/// pt_inner   = content type 1 ‖ content
/// address    = account id 32 (ASCII) ‖ device id 4
/// </code>
/// </summary>
public static class SealedEnvelope
{
    /// <summary>Bytes an envelope adds to its content: 1 + 32 + 16 (outer) + 128 + 36 + 32 + 16 (inner) + 1.</summary>
    public const int Overhead = 1 + Enc + Tag + PublicIdentity.EncodedSize + DeviceAddress.EncodedSize + Enc + Tag + 1;

    /// <summary>The largest content: a ratchet message of the largest padding bucket with its prelude, or any notice.</summary>
    public const int MaxContentSize = Ratchet.Padding.MaxPaddedSize + 4096;

    private const int Enc = HpkeX25519.EncapsulatedKeySize;
    private const int Tag = HpkeAeadAlgorithms.TagSize;
    private const HpkeAead Aead = HpkeAead.Aes128Gcm;

    private static readonly byte[] OuterLabel = Encoding.ASCII.GetBytes("Pigeon/2/sealed-envelope/outer\0");
    private static readonly byte[] InnerLabel = Encoding.ASCII.GetBytes("Pigeon/2/sealed-envelope/inner\0");

    /// <summary>
    /// Seals <paramref name="content"/> from <paramref name="sender"/>'s device <paramref name="senderDeviceId"/>
    /// to the device <paramref name="recipient"/> of the account whose identity is <paramref name="recipientIdentity"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An address is malformed, or <paramref name="recipientIdentity"/> is not <paramref name="recipient"/>'s.</exception>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.TooLarge"/>, or the recipient's key is not a valid X25519 key.</exception>
    public static byte[] Seal(IdentityKeyPair sender, uint senderDeviceId, PublicIdentity recipientIdentity, DeviceAddress recipient, EnvelopeContentType contentType, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(sender);
        return SealAs(sender, new DeviceAddress(sender.AccountId, senderDeviceId), recipientIdentity, recipient, contentType, content);
    }

    /// <summary>
    /// Opens an envelope sent to <paramref name="self"/>'s device <paramref name="recipient"/>: the outer
    /// layer, the sender's keys against the sender's account id, then the inner layer with those keys.
    /// Anything not sealed to this device by the holder of the named account's identity key is refused.
    /// The identity's Ed25519 signature over its agreement key is not checked here (it costs more than
    /// the rest of a junk envelope's refusal and proves nothing the account id does not): an identity
    /// enters a <see cref="SessionRecord"/> only through <see cref="Session.Accept(IdentityKeyPair, Prekeys.PrekeyStore, Wire.WireMessage, DateTimeOffset)"/>,
    /// which verifies it, and is compared byte for byte with that one afterwards. Call
    /// <see cref="PublicIdentity.IsValid"/> before keeping an identity from any other content.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="recipient"/> is not an address of <paramref name="self"/>.</exception>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.DecryptionFailed"/> (not for this device, altered, truncated, or not sealed by the named sender),
    /// <see cref="ProtocolError.IdentityMismatch"/> (the sender's keys are not its account id's), <see cref="ProtocolError.Malformed"/>,
    /// <see cref="ProtocolError.UnsupportedVersion"/> or <see cref="ProtocolError.TooLarge"/>.
    /// </exception>
    public static OpenedEnvelope Open(IdentityKeyPair self, DeviceAddress recipient, ReadOnlySpan<byte> envelope)
    {
        ArgumentNullException.ThrowIfNull(self);
        recipient.Validate(nameof(recipient));
        if (!string.Equals(recipient.AccountId, self.AccountId, StringComparison.Ordinal))
        {
            throw new ArgumentException("The address is not this identity's.", nameof(recipient));
        }

        if (envelope.Length > MaxContentSize + Overhead)
        {
            throw new ProtocolException(ProtocolError.TooLarge, "The envelope is larger than allowed.");
        }

        if (envelope.Length < Overhead)
        {
            throw ProtocolException.Malformed("envelope shorter than its fixed fields");
        }

        if (envelope[0] != ProtocolInfo.WireVersion)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"Envelope version {envelope[0]} is not supported.");
        }

        var outerEnc = envelope.Slice(1, Enc);
        byte[] outer;
        try
        {
            outer = HpkeX25519.OpenBase(Aead, outerEnc, self.AgreementKey, OuterInfo(recipient), envelope[..1], envelope[(1 + Enc)..]);
        }
        catch (ProtocolException e) when (e.Reason == ProtocolError.InvalidKey)
        {
            throw NotOpened(e);
        }

        var reader = new BlobReader(outer, ProtocolError.Malformed);
        var senderIdentity = PublicIdentity.Read(ref reader);
        var sender = DeviceAddress.Read(ref reader);
        var innerEnc = reader.ReadFixed(Enc);
        var inner = reader.ReadRest();

        // Self-certification instead of a certificate: the keys must hash to the account id they claim.
        if (!AccountId.Matches(sender.AccountId, senderIdentity.SigningKey, senderIdentity.AgreementKey))
        {
            throw new ProtocolException(ProtocolError.IdentityMismatch, "The sender's keys are not its account id's.");
        }

        byte[] content;
        try
        {
            content = HpkeX25519.OpenAuth(Aead, innerEnc, self.AgreementKey, InnerInfo(recipient, sender), outerEnc, inner, senderIdentity.AgreementKey);
        }
        catch (ProtocolException e) when (e.Reason == ProtocolError.InvalidKey)
        {
            throw NotOpened(e);
        }
        if (content.Length == 0 || !Enum.IsDefined((EnvelopeContentType)content[0]))
        {
            throw ProtocolException.Malformed("unknown envelope content type");
        }

        return new OpenedEnvelope(sender, senderIdentity, (EnvelopeContentType)content[0], content[1..]);
    }

    /// <summary>Seal with an explicit sender address: tests use it to claim an account id the keys are not.</summary>
    internal static byte[] SealAs(IdentityKeyPair sender, DeviceAddress senderAddress, PublicIdentity recipientIdentity, DeviceAddress recipient, EnvelopeContentType contentType, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(recipientIdentity);
        senderAddress.Validate(nameof(senderAddress));
        recipient.Validate(nameof(recipient));
        if (!recipientIdentity.IsValidFor(recipient.AccountId))
        {
            throw new ArgumentException("The recipient identity is not the recipient account's.", nameof(recipientIdentity));
        }

        if (!Enum.IsDefined(contentType))
        {
            throw new ArgumentOutOfRangeException(nameof(contentType));
        }

        if (content.Length > MaxContentSize)
        {
            throw new ProtocolException(ProtocolError.TooLarge, "The content is larger than an envelope allows.");
        }

        using var outerEphemeral = Primitives.X25519Dh.CreateKey();
        var (outerEnc, outerContext) = HpkeX25519.SetupBaseSender(Aead, recipientIdentity.AgreementKey, OuterInfo(recipient), outerEphemeral);
        using (outerContext)
        {
            var (innerEnc, inner) = HpkeX25519.SealAuth(Aead, recipientIdentity.AgreementKey, InnerInfo(recipient, senderAddress), outerEnc, [(byte)contentType, .. content], sender.AgreementKey);
            var writer = new BlobWriter(PublicIdentity.EncodedSize + DeviceAddress.EncodedSize + Enc + inner.Length);
            sender.PublicIdentity.Write(writer);
            senderAddress.Write(writer);
            writer.WriteFixed(innerEnc);
            writer.WriteFixed(inner);
            byte[] version = [ProtocolInfo.WireVersion];
            return [.. version, .. outerEnc, .. outerContext.Seal(version, writer.WrittenSpan)];
        }
    }

    private static byte[] OuterInfo(DeviceAddress recipient)
    {
        var writer = new BlobWriter(OuterLabel.Length + 1 + DeviceAddress.EncodedSize);
        writer.WriteFixed(OuterLabel);
        writer.WriteByte(ProtocolInfo.WireVersion);
        recipient.Write(writer);
        return writer.ToArray();
    }

    private static byte[] InnerInfo(DeviceAddress recipient, DeviceAddress sender)
    {
        var writer = new BlobWriter(InnerLabel.Length + 1 + (2 * DeviceAddress.EncodedSize));
        writer.WriteFixed(InnerLabel);
        writer.WriteByte(ProtocolInfo.WireVersion);
        recipient.Write(writer);
        sender.Write(writer);
        return writer.ToArray();
    }

    /// <summary>One answer for every way a layer can fail to open: an invalid key is as "not for us" as a bad tag.</summary>
    private static ProtocolException NotOpened(ProtocolException e) =>
        new(ProtocolError.DecryptionFailed, "The envelope could not be opened.", e);
}
