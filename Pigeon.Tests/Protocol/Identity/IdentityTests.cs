using Pigeon.Protocol;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Tests.Protocol.Identity;

public sealed class IdentityTests
{
    [Fact]
    public void AccountId_Derived_IsThirtyTwoCharactersOfLowercaseBase32()
    {
        using var identity = IdentityKeyPair.Generate();
        var id = identity.AccountId;
        Assert.Equal(32, id.Length);
        Assert.Matches("^[a-z2-7]{32}$", id);
        Assert.True(AccountId.IsWellFormed(id));
        Assert.Equal(id, AccountId.Derive(identity.PublicIdentity.SigningKey, identity.PublicIdentity.AgreementKey));
    }

    [Fact]
    public void AccountId_Derive_IsAFixedFunctionOfTheKeys()
    {
        // Pins the encoding: SHA-256 over the domain label and both keys, first 20 bytes, base32.
        var signing = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var agreement = Enumerable.Range(32, 32).Select(i => (byte)i).ToArray();
        var hash = System.Security.Cryptography.SHA256.HashData([.. "Pigeon/1/account-id\0"u8, .. signing, .. agreement]);
        var bits = string.Concat(hash.Take(20).Select(b => Convert.ToString(b, 2).PadLeft(8, '0')));
        var expected = string.Concat(Enumerable.Range(0, 32).Select(i => "abcdefghijklmnopqrstuvwxyz234567"[Convert.ToInt32(bits.Substring(i * 5, 5), 2)]));
        Assert.Equal(expected, AccountId.Derive(signing, agreement));
    }

    [Fact]
    public void AccountId_Matches_OnlyTheKeysItWasDerivedFrom()
    {
        using var a = IdentityKeyPair.Generate();
        using var b = IdentityKeyPair.Generate();
        var pa = a.PublicIdentity;
        Assert.True(AccountId.Matches(a.AccountId, pa.SigningKey, pa.AgreementKey));
        Assert.False(AccountId.Matches(b.AccountId, pa.SigningKey, pa.AgreementKey));
        Assert.False(AccountId.Matches(a.AccountId, pa.AgreementKey, pa.SigningKey));
        Assert.False(AccountId.Matches(a.AccountId, pa.SigningKey, b.PublicIdentity.AgreementKey));
        Assert.False(AccountId.Matches(a.AccountId.ToUpperInvariant(), pa.SigningKey, pa.AgreementKey));
        Assert.False(AccountId.Matches(a.AccountId, pa.SigningKey.AsSpan(1), pa.AgreementKey));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abcdefghijklmnopqrstuvwxyz23456")]
    [InlineData("abcdefghijklmnopqrstuvwxyz2345677")]
    [InlineData("Abcdefghijklmnopqrstuvwxyz234567")]
    [InlineData("abcdefghijklmnopqrstuvwxyz234561")]
    [InlineData("abcdefghijklmnopqrstuvwxyz234568")]
    [InlineData("abcdefghijklmnopqrstuvwxyz23456=")]
    public void AccountId_WithBadSyntax_IsNotWellFormed(string? id) => Assert.False(AccountId.IsWellFormed(id));

    [Fact]
    public void AccountId_Derive_WithWrongKeySizes_RaisesTheTypedException() =>
        Refused.By(() => AccountId.Derive(new byte[31], new byte[32]), ProtocolError.InvalidKey);

    [Fact]
    public void PublicIdentity_WithTamperedKeyOrSignature_IsNotValid()
    {
        using var identity = IdentityKeyPair.Generate();
        var good = identity.PublicIdentity;
        Assert.True(good.IsValid());
        Assert.True(good.IsValidFor(identity.AccountId));

        var otherAgreement = (byte[])good.AgreementKey.Clone();
        otherAgreement[0] ^= 1;
        Assert.False((good with { AgreementKey = otherAgreement }).IsValid());
        var badSignature = (byte[])good.AgreementKeySignature.Clone();
        badSignature[10] ^= 0x40;
        Assert.False((good with { AgreementKeySignature = badSignature }).IsValid());
        Assert.False((good with { SigningKey = new byte[31] }).IsValid());

        using var other = IdentityKeyPair.Generate();
        Assert.False(good.IsValidFor(other.AccountId));
    }

    [Fact]
    public void PublicIdentity_RoundTripsThroughItsEncoding()
    {
        using var identity = IdentityKeyPair.Generate();
        var bytes = identity.PublicIdentity.ToBytes();
        Assert.Equal(PublicIdentity.EncodedSize, bytes.Length);
        Assert.Equal(identity.PublicIdentity, PublicIdentity.FromBytes(bytes));
        Refused.By(() => PublicIdentity.FromBytes(bytes.AsSpan(1)), ProtocolError.Malformed);
        Refused.By(() => PublicIdentity.FromBytes([.. bytes, 0]), ProtocolError.Malformed);
    }

    [Fact]
    public void AuthChallenge_Signature_VerifiesOnlyForTheSameAccountAndChallenge()
    {
        using var identity = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var challenge = "server nonce 123"u8.ToArray();
        var signature = identity.SignAuthChallenge(identity.AccountId, challenge);
        var key = identity.PublicIdentity.SigningKey;

        Assert.True(IdentitySignatures.VerifyAuthChallenge(key, identity.AccountId, challenge, signature));
        Assert.False(IdentitySignatures.VerifyAuthChallenge(key, other.AccountId, challenge, signature));
        Assert.False(IdentitySignatures.VerifyAuthChallenge(key, identity.AccountId, "server nonce 124"u8, signature));
        Assert.False(IdentitySignatures.VerifyAuthChallenge(other.PublicIdentity.SigningKey, identity.AccountId, challenge, signature));
        Assert.False(IdentitySignatures.VerifyAuthChallenge(key, identity.AccountId, challenge, signature.AsSpan(0, 63)));
        Assert.Throws<ArgumentException>(() => identity.SignAuthChallenge(other.AccountId, challenge));
    }

    [Fact]
    public void Signatures_AreDomainSeparated_BetweenPurposesAndPrekeyKinds()
    {
        using var identity = IdentityKeyPair.Generate();
        var key = identity.PublicIdentity.SigningKey;
        var prekey = new byte[32];
        prekey[0] = 9;
        var signature = identity.SignPrekey(PrekeyKind.SignedX25519, 7, prekey);

        Assert.True(IdentitySignatures.VerifyPrekey(key, PrekeyKind.SignedX25519, 7, prekey, signature));
        Assert.False(IdentitySignatures.VerifyPrekey(key, PrekeyKind.OneTimeX25519, 7, prekey, signature));
        Assert.False(IdentitySignatures.VerifyPrekey(key, PrekeyKind.SignedX25519, 8, prekey, signature));
        Assert.False(IdentitySignatures.VerifyPrekey(key, (PrekeyKind)99, 7, prekey, signature));
        Assert.False(IdentitySignatures.VerifyAgreementKey(key, prekey, signature));
        Assert.False(IdentitySignatures.VerifyAuthChallenge(key, identity.AccountId, prekey, signature));

        var agreementSignature = identity.PublicIdentity.AgreementKeySignature;
        Assert.False(IdentitySignatures.VerifyPrekey(key, PrekeyKind.SignedX25519, 0, identity.PublicIdentity.AgreementKey, agreementSignature));
    }
}
