using Pigeon.Protocol;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.SessionSetup;

namespace Pigeon.Tests.Protocol.SessionSetup;

public sealed class PqxdhTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void Pqxdh_BothSides_DeriveTheSameKeysAndAssociatedData(bool withOneTimePrekey, bool lastResortMlKem)
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var initiated = Pqxdh.Initiate(alice.Identity, bob.Bundle(withOneTimePrekey, lastResortMlKem), bob.AccountId);
        var responded = Pqxdh.Respond(bob.Identity, bob.Prekeys, initiated.Prelude);

        Assert.Equal(32, initiated.SharedKey.Length);
        Assert.Equal(initiated.SharedKey, responded.SharedKey);
        Assert.Equal(initiated.AssociatedData, responded.AssociatedData);
        Assert.Equal(bob.SignedPrekey.PublicKey, responded.SignedPrekeyPublic);
        Assert.Equal(withOneTimePrekey, initiated.Prelude.OneTimePrekeyId is not null);
        Assert.Equal(lastResortMlKem ? bob.LastResort.Id : bob.MlKem[0].Id, initiated.Prelude.MlKemPrekeyId);
    }

    [Fact]
    public void Pqxdh_OneTimePrekey_ChangesTheSharedKey()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var first = Pqxdh.Initiate(alice.Identity, bob.Bundle(), bob.AccountId);
        var second = Pqxdh.Initiate(alice.Identity, bob.Bundle(), bob.AccountId);
        Assert.NotEqual(first.SharedKey, second.SharedKey);
    }

    [Fact]
    public void Bundle_WithBadSignedPrekeySignature_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var signature = (byte[])bob.SignedPrekey.Signature.Clone();
        signature[0] ^= 1;
        var bundle = bob.Bundle() with { SignedPrekey = bob.SignedPrekey with { Signature = signature } };
        Refused.By(() => Session.Initiate(alice.Identity, bundle, bob.AccountId), ProtocolError.InvalidSignature);
    }

    [Fact]
    public void Bundle_WithSignedPrekeySwappedForAnotherKey_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var bundle = bob.Bundle() with { SignedPrekey = bob.SignedPrekey with { PublicKey = bob.OneTime[1].PublicKey } };
        Refused.By(() => Session.Initiate(alice.Identity, bundle, bob.AccountId), ProtocolError.InvalidSignature);
    }

    [Fact]
    public void Bundle_WithBadMlKemSignatureOrWrongKind_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var signature = (byte[])bob.MlKem[0].Signature.Clone();
        signature[63] ^= 0x80;
        Refused.By(() => Session.Initiate(alice.Identity, bob.Bundle() with { MlKemPrekey = bob.MlKem[0] with { Signature = signature } }, bob.AccountId), ProtocolError.InvalidSignature);
        Refused.By(() => Session.Initiate(alice.Identity, bob.Bundle() with { MlKemPrekey = bob.MlKem[0] with { IsLastResort = true } }, bob.AccountId), ProtocolError.InvalidSignature);
        Refused.By(() => Session.Initiate(alice.Identity, bob.Bundle() with { MlKemPrekey = bob.MlKem[0] with { Id = bob.MlKem[1].Id } }, bob.AccountId), ProtocolError.InvalidSignature);
    }

    [Fact]
    public void Bundle_WithBadIdentitySignature_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var signature = (byte[])bob.Identity.PublicIdentity.AgreementKeySignature.Clone();
        signature[5] ^= 4;
        var bundle = bob.Bundle() with { Identity = bob.Identity.PublicIdentity with { AgreementKeySignature = signature } };
        Refused.By(() => Session.Initiate(alice.Identity, bundle, bob.AccountId), ProtocolError.InvalidSignature);
    }

    [Fact]
    public void Bundle_WhoseKeysDoNotHashToTheExpectedId_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        using var mallory = new TestParty();

        // The server substitutes Mallory's (self-consistent, validly signed) bundle for Bob's.
        Refused.By(() => Session.Initiate(alice.Identity, mallory.Bundle(), bob.AccountId), ProtocolError.IdentityMismatch);

        // Or keeps Bob's signing key but swaps in Mallory's agreement key.
        var mixed = bob.Bundle() with { Identity = bob.Identity.PublicIdentity with { AgreementKey = mallory.Identity.PublicIdentity.AgreementKey } };
        Refused.By(() => Session.Initiate(alice.Identity, mixed, bob.AccountId), ProtocolError.IdentityMismatch);
        Refused.By(() => Session.Initiate(alice.Identity, bob.Bundle(), "not an id"), ProtocolError.IdentityMismatch);
    }

    [Fact]
    public void Bundle_WithLowOrderOneTimePrekey_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var bundle = bob.Bundle() with { OneTimePrekey = new OneTimePrekey(bob.OneTime[0].Id, new byte[32]) };
        Refused.By(() => Session.Initiate(alice.Identity, bundle, bob.AccountId), ProtocolError.InvalidKey);
    }

    [Fact]
    public void Accept_DeletesTheUsedOneTimePrekeys_SoTheFirstMessageCannotBeReplayed()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var x25519Before = bob.Prekeys.OneTimePrekeyCount;
        var mlKemBefore = bob.Prekeys.OneTimeMlKemPrekeyCount;
        var session = Session.Initiate(alice.Identity, bob.Bundle(), bob.AccountId);
        var first = session.Encrypt("hi"u8);

        var accepted = Session.Accept(bob.Identity, bob.Prekeys, first);
        Assert.Equal("hi"u8.ToArray(), accepted.Plaintext);
        Assert.Equal(alice.AccountId, accepted.Session.RemoteAccountId);
        Assert.Equal(x25519Before - 1, bob.Prekeys.OneTimePrekeyCount);
        Assert.Equal(mlKemBefore - 1, bob.Prekeys.OneTimeMlKemPrekeyCount);
        Assert.Null(bob.Prekeys.FindOneTimePrekeyPrivate(bob.OneTime[0].Id));
        Assert.Null(bob.Prekeys.FindMlKemSeed(bob.MlKem[0].Id));

        Refused.By(() => Session.Accept(bob.Identity, bob.Prekeys, first), ProtocolError.ReplayedSetup);
    }

    [Fact]
    public void Accept_ReplayedFirstMessageWithoutOneTimePrekeys_IsRefusedForAsLongAsItsSignedPrekeyLives()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var first = Session.Initiate(alice.Identity, bob.Bundle(withOneTime: false, lastResort: true), bob.AccountId).Encrypt("hi"u8);
        Assert.Equal("hi"u8.ToArray(), Session.Accept(bob.Identity, bob.Prekeys, first).Plaintext);
        Assert.Equal(1, bob.Prekeys.AcceptedSetupCount);

        // Nothing one-time was used, so only the remembered base key tells the replay apart.
        Refused.By(() => Session.Accept(bob.Identity, bob.Prekeys, first), ProtocolError.ReplayedSetup);
        var restored = PrekeyStore.Deserialize(bob.Prekeys.Serialize());
        Refused.By(() => Session.Accept(bob.Identity, restored, first), ProtocolError.ReplayedSetup);

        // The signed prekey is rotated: within its grace period it still answers setups, so the memory stays.
        var grace = TimeSpan.FromDays(7);
        restored.RotateSignedPrekey(bob.Identity, TestParty.Now);
        restored.PruneRetired(TestParty.Now + grace - TimeSpan.FromMinutes(1), grace);
        Refused.By(() => Session.Accept(bob.Identity, restored, first), ProtocolError.ReplayedSetup);

        // Once the key is gone no setup with it can succeed, and the memory goes with it.
        restored.PruneRetired(TestParty.Now + grace, grace);
        Assert.Equal(0, restored.AcceptedSetupCount);
        Refused.By(() => Session.Accept(bob.Identity, restored, first), ProtocolError.UnknownPrekey);
    }

    [Fact]
    public void Accept_RemembersAtMostTheBound_OldestForgottenFirst()
    {
        using var bob = new TestParty();
        var store = bob.Prekeys;
        for (var i = 0; i < PrekeyStore.MaxAcceptedSetups + 5; i++)
        {
            var baseKey = new byte[32];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(baseKey, i);
            store.RecordAcceptedSetup(bob.SignedPrekey.Id, baseKey);
        }

        Assert.Equal(PrekeyStore.MaxAcceptedSetups, store.AcceptedSetupCount);
        Assert.False(store.HasAcceptedSetup(new byte[32]));
        var newest = new byte[32];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(newest, PrekeyStore.MaxAcceptedSetups + 4);
        Assert.True(store.HasAcceptedSetup(newest));
        Assert.Equal(PrekeyStore.MaxAcceptedSetups, PrekeyStore.Deserialize(store.Serialize()).AcceptedSetupCount);
    }

    [Fact]
    public void Accept_ThatFailsToDecrypt_KeepsTheOneTimePrekeys()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var first = Session.Initiate(alice.Identity, bob.Bundle(), bob.AccountId).Encrypt("hi"u8);
        first[^1] ^= 1;
        Refused.By(() => Session.Accept(bob.Identity, bob.Prekeys, first), ProtocolError.DecryptionFailed);
        Assert.NotNull(bob.Prekeys.FindOneTimePrekeyPrivate(bob.OneTime[0].Id));
        Assert.NotNull(bob.Prekeys.FindMlKemSeed(bob.MlKem[0].Id));
    }

    [Fact]
    public void Accept_WithLastResortMlKemPrekey_KeepsIt()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var first = Session.Initiate(alice.Identity, bob.Bundle(withOneTime: false, lastResort: true), bob.AccountId).Encrypt("hi"u8);
        Session.Accept(bob.Identity, bob.Prekeys, first);
        Assert.NotNull(bob.Prekeys.FindMlKemSeed(bob.LastResort.Id));
        Assert.Equal(bob.LastResort, bob.Prekeys.CurrentLastResortMlKemPrekey);
    }

    [Fact]
    public void Accept_AfterSignedPrekeyRotation_WorksWithinTheGracePeriodOnly()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var oldBundle = bob.Bundle();
        var first = Session.Initiate(alice.Identity, oldBundle, bob.AccountId).Encrypt("one"u8);
        var second = Session.Initiate(alice.Identity, oldBundle with { OneTimePrekey = bob.OneTime[1], MlKemPrekey = bob.MlKem[1] }, bob.AccountId).Encrypt("two"u8);

        var rotated = bob.Prekeys.RotateSignedPrekey(bob.Identity, TestParty.Now.AddDays(7));
        Assert.NotEqual(oldBundle.SignedPrekey.Id, rotated.Id);
        Assert.Equal(rotated, bob.Prekeys.CurrentSignedPrekey);

        bob.Prekeys.PruneRetired(TestParty.Now.AddDays(8), TimeSpan.FromDays(2));
        Assert.Equal("one"u8.ToArray(), Session.Accept(bob.Identity, bob.Prekeys, first).Plaintext);

        bob.Prekeys.PruneRetired(TestParty.Now.AddDays(9), TimeSpan.FromDays(2));
        Refused.By(() => Session.Accept(bob.Identity, bob.Prekeys, second), ProtocolError.UnknownPrekey);
    }

    [Fact]
    public void Accept_OfAnOrdinaryMessage_IsRefused()
    {
        using var pair = new EstablishedPair();
        var reply = pair.BobSession.Encrypt("x"u8);
        Refused.By(() => Session.Accept(pair.Alice.Identity, pair.Alice.Prekeys, reply), ProtocolError.WrongSession);
    }

    [Fact]
    public void Accept_WithForgedSenderIdentity_IsRefused()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        using var mallory = new TestParty();
        var first = Session.Initiate(alice.Identity, bob.Bundle(), bob.AccountId).Encrypt("hi"u8);

        // Replace Alice's agreement key with Mallory's while keeping Alice's signing key and signature.
        mallory.Identity.PublicIdentity.AgreementKey.CopyTo(first, 2 + 32);
        Refused.By(() => Session.Accept(bob.Identity, bob.Prekeys, first), ProtocolError.InvalidSignature);
    }
}
