using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Identity;

/// <summary>
/// The public half of an identity as the server stores it: the Ed25519 signing key, the X25519
/// agreement key and the signing key's signature over the agreement key. Equality compares the bytes.
/// </summary>
public sealed record PublicIdentity(byte[] SigningKey, byte[] AgreementKey, byte[] AgreementKeySignature)
{
    /// <summary>Size of <see cref="ToBytes"/>: 32 + 32 + 64.</summary>
    public const int EncodedSize = (2 * ProtocolInfo.PublicKeySize) + ProtocolInfo.SignatureSize;

    /// <summary>The self-certifying account id derived from both public keys.</summary>
    /// <exception cref="ProtocolException">A key has the wrong size.</exception>
    public string AccountId => Identity.AccountId.Derive(SigningKey, AgreementKey);

    /// <summary>Key lengths are right and the signing key's (domain-separated) signature over the agreement key verifies.</summary>
    public bool IsValid() =>
        SigningKey is { Length: ProtocolInfo.PublicKeySize }
        && AgreementKey is { Length: ProtocolInfo.PublicKeySize }
        && AgreementKeySignature is { Length: ProtocolInfo.SignatureSize }
        && IdentitySignatures.VerifyAgreementKey(SigningKey, AgreementKey, AgreementKeySignature);

    /// <summary>True when the keys are valid and hash to <paramref name="accountId"/> (constant-time).</summary>
    public bool IsValidFor(string accountId) => IsValid() && Identity.AccountId.Matches(accountId, SigningKey, AgreementKey);

    /// <summary>Fixed 128-byte encoding: signing key, agreement key, signature.</summary>
    public byte[] ToBytes()
    {
        var writer = new BlobWriter(EncodedSize);
        Write(writer);
        return writer.ToArray();
    }

    /// <summary>Parses <see cref="ToBytes"/>; checks lengths only (call <see cref="IsValid"/> to verify).</summary>
    /// <exception cref="ProtocolException">The input is not exactly 128 bytes.</exception>
    public static PublicIdentity FromBytes(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.Malformed);
        var identity = Read(ref reader);
        reader.EnsureEnd();
        return identity;
    }

    /// <inheritdoc/>
    public bool Equals(PublicIdentity? other) =>
        other is not null
        && SigningKey.AsSpan().SequenceEqual(other.SigningKey)
        && AgreementKey.AsSpan().SequenceEqual(other.AgreementKey)
        && AgreementKeySignature.AsSpan().SequenceEqual(other.AgreementKeySignature);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(SigningKey);
        hash.AddBytes(AgreementKey);
        return hash.ToHashCode();
    }

    internal void Write(BlobWriter writer)
    {
        writer.WriteFixed(SigningKey);
        writer.WriteFixed(AgreementKey);
        writer.WriteFixed(AgreementKeySignature);
    }

    internal static PublicIdentity Read(ref BlobReader reader) => new(
        reader.ReadFixedArray(ProtocolInfo.PublicKeySize),
        reader.ReadFixedArray(ProtocolInfo.PublicKeySize),
        reader.ReadFixedArray(ProtocolInfo.SignatureSize));
}
