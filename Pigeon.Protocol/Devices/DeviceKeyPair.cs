using System.Buffers.Binary;
using System.Text;
using NSec.Cryptography;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Protocol.Devices;

/// <summary>
/// One device's own Ed25519 key, with which it signs in (issue 16). The account's signed device list
/// names its public half (<see cref="DeviceEntry.SigningKey"/>); the account identity, which every
/// device of the account holds, signs the list but not the sign-in, so a device's token is bound to
/// that device alone.
/// </summary>
public sealed class DeviceKeyPair : IDisposable
{
    private static readonly byte[] AuthChallengeLabel = Encoding.ASCII.GetBytes("Pigeon/2/device-auth-challenge\0");

    private readonly Key _key;

    private DeviceKeyPair(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The public key the device list names.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A new random device key.</summary>
    public static DeviceKeyPair Generate() => new(Ed25519Signer.Generate());

    /// <summary>The key from its stored 32-byte seed (<see cref="ExportPrivateKey"/>).</summary>
    /// <exception cref="ProtocolException">The seed is not a valid key.</exception>
    public static DeviceKeyPair Import(ReadOnlySpan<byte> privateKey) => new(Ed25519Signer.Import(privateKey));

    /// <summary>The 32-byte seed, to keep sealed in the profile; zero it after use.</summary>
    public byte[] ExportPrivateKey() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>Signs the gateway's login challenge for device <paramref name="deviceId"/> of <paramref name="accountId"/>.</summary>
    public byte[] SignAuthChallenge(string accountId, uint deviceId, ReadOnlySpan<byte> challenge) =>
        Ed25519Signer.Sign(_key, AuthChallengeMessage(accountId, deviceId, challenge));

    /// <summary>Verifies a device's login proof with the signing key its device list names.</summary>
    public static bool VerifyAuthChallenge(ReadOnlySpan<byte> devicePublicKey, string accountId, uint deviceId, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> signature) =>
        accountId is not null && Ed25519Signer.Verify(devicePublicKey, AuthChallengeMessage(accountId, deviceId, challenge), signature);

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();

    // "Pigeon/2/device-auth-challenge\0" ‖ account id length (u32) ‖ account id ‖ device id (u32) ‖ challenge length (u32) ‖ challenge
    private static byte[] AuthChallengeMessage(string accountId, uint deviceId, ReadOnlySpan<byte> challenge)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        var id = Encoding.UTF8.GetBytes(accountId);
        var message = new byte[AuthChallengeLabel.Length + 4 + id.Length + 4 + 4 + challenge.Length];
        var span = message.AsSpan();
        AuthChallengeLabel.CopyTo(span);
        span = span[AuthChallengeLabel.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)id.Length);
        id.CopyTo(span[4..]);
        span = span[(4 + id.Length)..];
        BinaryPrimitives.WriteUInt32BigEndian(span, deviceId);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)challenge.Length);
        challenge.CopyTo(span[8..]);
        return message;
    }
}
