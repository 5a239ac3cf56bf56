using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using Pigeon.Protocol.Hpke;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Protocol.Devices;

/// <summary>
/// What a device being linked shows (issue 16): the provisioning slot it waits at, the X25519 key the
/// existing device encrypts the account to, and the new device's own signing key, which the existing
/// device puts on the signed device list. Text form: base64url (no padding) of
/// <c>slot id (16) ‖ provisioning public key (32) ‖ device signing key (32)</c>. Both devices show
/// <see cref="Fingerprint"/>, so the user can see that the code arrived unchanged.
/// </summary>
public sealed record LinkCode(Guid SlotId, byte[] ProvisioningKey, byte[] DeviceSigningKey)
{
    private const int Size = 16 + 32 + 32;
    private static readonly byte[] FingerprintLabel = Encoding.ASCII.GetBytes("Pigeon/2/link-fingerprint\0");

    /// <summary>The code's bytes.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        SlotId.TryWriteBytes(bytes, bigEndian: true, out _);
        ProvisioningKey.CopyTo(bytes, 16);
        DeviceSigningKey.CopyTo(bytes, 48);
        return bytes;
    }

    /// <inheritdoc/>
    public override string ToString() => Convert.ToBase64String(ToBytes()).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Reads a code as <see cref="ToString"/> writes it (spaces and line breaks ignored).</summary>
    /// <exception cref="FormatException">It is not a link code.</exception>
    public static LinkCode Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var compact = new string([.. text.Where(c => !char.IsWhiteSpace(c))]).Replace('-', '+').Replace('_', '/');
        var buffer = new byte[Size + 3];
        if (compact.Length != 107 || !Convert.TryFromBase64String(compact + "=", buffer, out var length) || length != Size)
        {
            throw new FormatException("This is not a link code: copy the whole code that 'pigeon devices link' shows.");
        }

        var bytes = buffer[..Size];
        if (!X25519Dh.IsValidPublicKey(bytes.AsSpan(16, 32)))
        {
            throw new FormatException("This link code's key is not valid.");
        }

        return new LinkCode(new Guid(bytes.AsSpan(0, 16), bigEndian: true), bytes[16..48], bytes[48..]);
    }

    /// <summary>Twelve digits in three groups, the same on both devices when the code arrived unchanged.</summary>
    public string Fingerprint
    {
        get
        {
            var hash = SHA256.HashData([.. FingerprintLabel, .. ToBytes()]);
            var number = BinaryPrimitives.ReadUInt64BigEndian(hash) % 1_000_000_000_000UL;
            var digits = number.ToString("D12", System.Globalization.CultureInfo.InvariantCulture);
            return $"{digits[..4]} {digits[4..8]} {digits[8..]}";
        }
    }
}

/// <summary>
/// The new device's side of linking: an X25519 key that lives only in its memory while it waits, to
/// which the existing device encrypts the account with HPKE (RFC 9180, mode_base, DHKEM(X25519,
/// HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305), <c>info</c> binding the purpose and <c>aad</c> the
/// whole link code. The server's slot holds only <c>enc ‖ ciphertext</c>.
/// </summary>
public sealed class ProvisioningKeyPair : IDisposable
{
    private static readonly byte[] Info = Encoding.ASCII.GetBytes("Pigeon/2/provisioning");

    private readonly Key _key;

    private ProvisioningKeyPair(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The public half, in the link code.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A new random key.</summary>
    public static ProvisioningKeyPair Generate() => new(X25519Dh.CreateKey());

    /// <summary>The existing device's side: encrypts <paramref name="plaintext"/> to the code's key.</summary>
    public static byte[] Seal(LinkCode code, ReadOnlySpan<byte> plaintext)
    {
        ArgumentNullException.ThrowIfNull(code);
        var (enc, ciphertext) = HpkeX25519.SealBase(HpkeAead.ChaCha20Poly1305, code.ProvisioningKey, Info, code.ToBytes(), plaintext);
        return [.. enc, .. ciphertext];
    }

    /// <summary>Opens what the existing device sealed to <paramref name="code"/>, this key's.</summary>
    /// <exception cref="ProtocolException">It was not sealed to this code (<see cref="ProtocolError.DecryptionFailed"/>).</exception>
    public byte[] Open(LinkCode code, ReadOnlySpan<byte> sealedMessage)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (sealedMessage.Length <= HpkeX25519.EncapsulatedKeySize)
        {
            throw new ProtocolException(ProtocolError.Malformed, "The provisioning message is too short.");
        }

        return HpkeX25519.OpenBase(HpkeAead.ChaCha20Poly1305, sealedMessage[..HpkeX25519.EncapsulatedKeySize], _key, Info, code.ToBytes(),
            sealedMessage[HpkeX25519.EncapsulatedKeySize..]);
    }

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
