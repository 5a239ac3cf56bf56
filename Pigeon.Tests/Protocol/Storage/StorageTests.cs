using Pigeon.Protocol;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Storage;

namespace Pigeon.Tests.Protocol.Storage;

public sealed class StorageTests
{
    private static readonly PassphraseKeyParameters Cheap = new(MemoryKiB: 8 * 1024, Iterations: 2);

    [Fact]
    public void PassphraseKey_Derive_IsDeterministicAndDependsOnPassphraseSaltAndCost()
    {
        var salt = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var key = PassphraseKey.Derive("correct horse battery staple", salt, Cheap);
        Assert.Equal(PassphraseKey.KeySize, key.Length);
        Assert.Equal(key, PassphraseKey.Derive("correct horse battery staple", salt, Cheap));
        Assert.NotEqual(key, PassphraseKey.Derive("correct horse battery stapler", salt, Cheap));
        var otherSalt = (byte[])salt.Clone();
        otherSalt[0] ^= 1;
        Assert.NotEqual(key, PassphraseKey.Derive("correct horse battery staple", otherSalt, Cheap));
        Assert.NotEqual(key, PassphraseKey.Derive("correct horse battery staple", salt, Cheap with { Iterations = 3 }));
        Assert.Throws<ArgumentException>(() => PassphraseKey.Derive("x", new byte[8], Cheap));
    }

    [Fact]
    public void IdentityKeyPair_RestoredFromItsBlob_IsTheSameIdentity()
    {
        using var identity = IdentityKeyPair.Generate();
        var blob = identity.Serialize();
        Assert.Equal(4 + 1 + 32 + 32, blob.Length);
        using var restored = IdentityKeyPair.Deserialize(blob);
        Assert.Equal(identity.AccountId, restored.AccountId);
        Assert.Equal(identity.PublicIdentity, restored.PublicIdentity);
        var signature = restored.SignAuthChallenge(restored.AccountId, "c"u8);
        Assert.True(IdentitySignatures.VerifyAuthChallenge(identity.PublicIdentity.SigningKey, identity.AccountId, "c"u8, signature));
    }

    [Fact]
    public void PrekeyStore_RestoredFromItsBlob_AnswersSessionSetups()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var first = Session.Initiate(alice.Identity, bob.Bundle(), bob.AccountId).Encrypt("after restart"u8);
        var withoutOneTime = Session.Initiate(alice.Identity, bob.Bundle(withOneTime: false, lastResort: true), bob.AccountId).Encrypt("last resort"u8);

        bob.Prekeys.RotateSignedPrekey(bob.Identity, TestParty.Now.AddDays(1));
        var restored = PrekeyStore.Deserialize(bob.Prekeys.Serialize());
        Assert.Equal(bob.Prekeys.Serialize(), restored.Serialize());
        Assert.Equal(bob.Prekeys.CurrentSignedPrekey, restored.CurrentSignedPrekey);
        Assert.Equal(bob.Prekeys.OneTimePrekeyCount, restored.OneTimePrekeyCount);

        using var bobIdentity = IdentityKeyPair.Deserialize(bob.Identity.Serialize());
        Assert.Equal("after restart"u8.ToArray(), Session.Accept(bobIdentity, restored, first).Plaintext);
        Assert.Equal("last resort"u8.ToArray(), Session.Accept(bobIdentity, restored, withoutOneTime).Plaintext);

        // Ids keep increasing after a restore.
        var next = restored.GenerateOneTimePrekeys(1)[0];
        Assert.True(next.Id > bob.OneTime.Max(k => k.Id));
    }

    [Fact]
    public void PrekeyStore_GeneratedPrekeys_AreSignedWithTheirKinds()
    {
        using var party = new TestParty();
        var signingKey = party.Identity.PublicIdentity.SigningKey;
        Assert.True(party.SignedPrekey.IsValidFor(signingKey));
        Assert.True(party.LastResort.IsValidFor(signingKey));
        Assert.True(party.LastResort.IsLastResort);
        Assert.All(party.MlKem, k => Assert.True(k.IsValidFor(signingKey)));
        Assert.All(party.MlKem, k => Assert.Equal(ProtocolInfo.MlKemPublicKeySize, k.PublicKey.Length));
        var ids = new[] { party.SignedPrekey.Id, party.LastResort.Id }.Concat(party.OneTime.Select(k => k.Id)).Concat(party.MlKem.Select(k => k.Id)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
