using Pigeon.Protocol.Identity;

namespace Pigeon.Protocol.Prekeys;

/// <summary>The public half of a signed X25519 prekey, as uploaded and served. Equality compares the bytes.</summary>
public sealed record SignedPrekey(uint Id, byte[] PublicKey, byte[] Signature)
{
    /// <summary>True when the signature by <paramref name="signingPublicKey"/> verifies.</summary>
    public bool IsValidFor(ReadOnlySpan<byte> signingPublicKey) =>
        PublicKey is { Length: ProtocolInfo.PublicKeySize }
        && IdentitySignatures.VerifyPrekey(signingPublicKey, PrekeyKind.SignedX25519, Id, PublicKey, Signature);

    /// <inheritdoc/>
    public bool Equals(SignedPrekey? other) =>
        other is not null && Id == other.Id && PublicKey.AsSpan().SequenceEqual(other.PublicKey) && Signature.AsSpan().SequenceEqual(other.Signature);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, PublicKey.Length > 0 ? PublicKey[0] : 0);
}

/// <summary>The public half of a one-time X25519 prekey, as uploaded and served (unsigned, as in PQXDH §3.2).</summary>
public sealed record OneTimePrekey(uint Id, byte[] PublicKey)
{
    /// <inheritdoc/>
    public bool Equals(OneTimePrekey? other) => other is not null && Id == other.Id && PublicKey.AsSpan().SequenceEqual(other.PublicKey);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, PublicKey.Length > 0 ? PublicKey[0] : 0);
}

/// <summary>The public half of an ML-KEM-1024 prekey, one-time or last-resort, always signed.</summary>
public sealed record MlKemPrekey(uint Id, byte[] PublicKey, byte[] Signature, bool IsLastResort)
{
    /// <summary>The kind the signature covers.</summary>
    public PrekeyKind Kind => IsLastResort ? PrekeyKind.MlKem1024LastResort : PrekeyKind.MlKem1024;

    /// <summary>True when the signature by <paramref name="signingPublicKey"/> verifies.</summary>
    public bool IsValidFor(ReadOnlySpan<byte> signingPublicKey) =>
        PublicKey is { Length: ProtocolInfo.MlKemPublicKeySize }
        && IdentitySignatures.VerifyPrekey(signingPublicKey, Kind, Id, PublicKey, Signature);

    /// <inheritdoc/>
    public bool Equals(MlKemPrekey? other) =>
        other is not null && Id == other.Id && IsLastResort == other.IsLastResort
        && PublicKey.AsSpan().SequenceEqual(other.PublicKey) && Signature.AsSpan().SequenceEqual(other.Signature);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, IsLastResort);
}
