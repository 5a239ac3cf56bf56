using Pigeon.Protocol;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Protocol.Delivery;

public sealed class DeliveryKeyTests
{
    [Fact]
    public void Verifier_MatchesOnlyTheKeyForItsAccountAndEpoch()
    {
        using var owner = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var key = DeliveryKey.Generate(1);
        var verifier = key.Verifier(owner.AccountId);
        Assert.Equal(DeliveryKeyVerifier.Size, verifier.Length);
        Assert.True(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, 1, key.Key));

        var wrong = key.Key.ToArray();
        wrong[^1] ^= 1;
        Assert.False(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, 1, wrong));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, 2, key.Key));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, other.AccountId, 1, key.Key));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, 1, []));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, 1, [.. key.Key, 0]));
        Assert.False(DeliveryKeyVerifier.Matches(verifier[..31], owner.AccountId, 1, key.Key));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, "not an account id", 1, key.Key));
        Assert.False(DeliveryKeyVerifier.Matches(DeliveryKeyVerifier.Decoy(), owner.AccountId, 1, key.Key));

        // The verifier does not contain the key.
        Assert.True(verifier.AsSpan().IndexOf(key.Key[..8]) < 0);
    }

    [Fact]
    public void Rotation_RevokesTheOldKey()
    {
        using var owner = IdentityKeyPair.Generate();
        var old = DeliveryKey.Generate(7);
        var rotated = old.Rotate();
        Assert.Equal(8u, rotated.Epoch);
        var verifier = rotated.Verifier(owner.AccountId);
        Assert.True(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, rotated.Epoch, rotated.Key));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, old.Epoch, old.Key));
        Assert.False(DeliveryKeyVerifier.Matches(verifier, owner.AccountId, rotated.Epoch, old.Key));
    }

    [Fact]
    public void DeliveryKey_RoundTrips_AndRefusesBadEncodings()
    {
        var key = DeliveryKey.Generate(3);
        var bytes = key.ToBytes();
        Assert.Equal(DeliveryKey.EncodedSize, bytes.Length);
        var back = DeliveryKey.FromBytes(bytes);
        Assert.Equal(key.Epoch, back.Epoch);
        Assert.Equal(key.Key.ToArray(), back.Key.ToArray());
        Assert.NotEqual(key.Key.ToArray(), DeliveryKey.Generate(3).Key.ToArray());
        Refused.By(() => DeliveryKey.FromBytes(bytes[..^1]), ProtocolError.Malformed);
        Refused.By(() => DeliveryKey.FromBytes([.. bytes, 0]), ProtocolError.Malformed);
        Assert.Throws<ArgumentException>(() => DeliveryKeyVerifier.Derive("x", 1, key.Key));
    }
}
