using System.Buffers.Binary;
using System.Text;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Protocol.Identity;

/// <summary>
/// Domain-separated Ed25519 signatures made by an identity's signing key. Every signed message starts
/// with "Pigeon/1/" and a purpose label, so a signature made for one context never verifies in another.
/// </summary>
public static class IdentitySignatures
{
    private static readonly byte[] AgreementKeyLabel = Encoding.ASCII.GetBytes("Pigeon/1/identity-agreement-key\0");
    private static readonly byte[] AuthChallengeLabel = Encoding.ASCII.GetBytes("Pigeon/1/auth-challenge\0");
    private static readonly byte[] PrekeyLabel = Encoding.ASCII.GetBytes("Pigeon/1/prekey\0");

    /// <summary>Verifies the signing key's signature over the identity's X25519 agreement key.</summary>
    public static bool VerifyAgreementKey(ReadOnlySpan<byte> signingPublicKey, ReadOnlySpan<byte> agreementPublicKey, ReadOnlySpan<byte> signature) =>
        agreementPublicKey.Length == ProtocolInfo.PublicKeySize
        && Ed25519Signer.Verify(signingPublicKey, AgreementKeyMessage(agreementPublicKey), signature);

    /// <summary>Verifies a login proof: a signature over the server's challenge, bound to the account id.</summary>
    public static bool VerifyAuthChallenge(ReadOnlySpan<byte> signingPublicKey, string accountId, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> signature) =>
        accountId is not null && Ed25519Signer.Verify(signingPublicKey, AuthChallengeMessage(accountId, challenge), signature);

    /// <summary>Verifies a prekey signature, which binds the prekey's kind, id and public key.</summary>
    public static bool VerifyPrekey(ReadOnlySpan<byte> signingPublicKey, PrekeyKind kind, uint prekeyId, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature) =>
        Enum.IsDefined(kind) && Ed25519Signer.Verify(signingPublicKey, PrekeyMessage(kind, prekeyId, publicKey), signature);

    internal static byte[] AgreementKeyMessage(ReadOnlySpan<byte> agreementPublicKey) => [.. AgreementKeyLabel, .. agreementPublicKey];

    internal static byte[] AuthChallengeMessage(string accountId, ReadOnlySpan<byte> challenge)
    {
        var id = Encoding.UTF8.GetBytes(accountId);
        var message = new byte[AuthChallengeLabel.Length + 4 + id.Length + 4 + challenge.Length];
        var span = message.AsSpan();
        AuthChallengeLabel.CopyTo(span);
        span = span[AuthChallengeLabel.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)id.Length);
        id.CopyTo(span[4..]);
        span = span[(4 + id.Length)..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)challenge.Length);
        challenge.CopyTo(span[4..]);
        return message;
    }

    internal static byte[] PrekeyMessage(PrekeyKind kind, uint prekeyId, ReadOnlySpan<byte> publicKey)
    {
        var message = new byte[PrekeyLabel.Length + 1 + 4 + 4 + publicKey.Length];
        var span = message.AsSpan();
        PrekeyLabel.CopyTo(span);
        span = span[PrekeyLabel.Length..];
        span[0] = (byte)kind;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], prekeyId);
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)publicKey.Length);
        publicKey.CopyTo(span[9..]);
        return message;
    }
}
