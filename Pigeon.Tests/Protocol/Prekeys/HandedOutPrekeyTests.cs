using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Tests.Protocol.Prekeys;

/// <summary>One-time prekeys the server has handed out: marked from its lowest held ids, kept for a grace period, then dropped.</summary>
public sealed class HandedOutPrekeyTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void OneTimePrekeys_BelowTheServersLowestHeldId_AreMarked_KeptThroughTheGrace_ThenDropped()
    {
        using var identity = IdentityKeyPair.Generate();
        var store = new PrekeyStore();
        var x25519 = store.GenerateOneTimePrekeys(10);
        var kem = store.GenerateMlKemPrekeys(identity, 10);
        var issuedBefore = store.NextPrekeyId;
        // Made after the count was asked for: never taken for gone, even with an empty pool.
        var later = store.GenerateOneTimePrekeys(1)[0];

        // The server still holds X25519 keys from the fourth on, and no ML-KEM key at all.
        Assert.Equal(3 + 10, store.MarkHandedOut(x25519[3].Id, uint.MaxValue, issuedBefore, Now));
        Assert.Equal(0, store.MarkHandedOut(x25519[3].Id, uint.MaxValue, issuedBefore, Now.AddDays(1)));
        Assert.Equal(13, store.HandedOutOneTimePrekeyCount);
        Assert.NotNull(store.FindOneTimePrekeyPrivate(x25519[0].Id));

        var restored = PrekeyStore.Deserialize(store.Serialize());
        Assert.Equal(13, restored.HandedOutOneTimePrekeyCount);
        Assert.Equal(0, restored.PruneHandedOut(Now.AddDays(59), TimeSpan.FromDays(60)));
        Assert.Equal(13, restored.PruneHandedOut(Now.AddDays(60), TimeSpan.FromDays(60)));

        Assert.Equal(0, restored.HandedOutOneTimePrekeyCount);
        Assert.Equal(7 + 1, restored.OneTimePrekeyCount);
        Assert.Equal(0, restored.OneTimeMlKemPrekeyCount);
        Assert.Null(restored.FindOneTimePrekeyPrivate(x25519[2].Id));
        Assert.NotNull(restored.FindOneTimePrekeyPrivate(x25519[3].Id));
        Assert.NotNull(restored.FindOneTimePrekeyPrivate(later.Id));
        Assert.Null(restored.FindMlKemSeed(kem[9].Id));
    }

    [Fact]
    public void MarkedOneTimePrekey_UsedByASessionSetupWithinTheGrace_IsConsumedAsUsual()
    {
        using var identity = IdentityKeyPair.Generate();
        var store = new PrekeyStore();
        var key = store.GenerateOneTimePrekeys(1)[0];
        var kem = store.GenerateMlKemPrekeys(identity, 1)[0];
        store.MarkHandedOut(uint.MaxValue, uint.MaxValue, store.NextPrekeyId, Now);

        store.ConsumeOneTime(key.Id, kem.Id);

        Assert.Equal(0, store.HandedOutOneTimePrekeyCount);
        Assert.Equal(0, store.PruneHandedOut(Now.AddYears(1), TimeSpan.FromDays(60)));
    }

    [Fact]
    public void Marks_AreLifted_WhenTheServerTurnsOutToHoldTheKeys()
    {
        using var identity = IdentityKeyPair.Generate();
        var store = new PrekeyStore();
        var x25519 = store.GenerateOneTimePrekeys(4);
        store.GenerateMlKemPrekeys(identity, 4);
        var issuedBefore = store.NextPrekeyId;
        store.MarkHandedOut(uint.MaxValue, uint.MaxValue, issuedBefore, Now);

        // A server that cannot name its lowest ids (0): nothing is taken for gone, earlier marks are lifted.
        Assert.Equal(8, store.MarkHandedOut(0, 0, issuedBefore, Now.AddDays(1)));
        Assert.Equal(0, store.HandedOutOneTimePrekeyCount);
        Assert.Equal(2, store.MarkHandedOut(x25519[2].Id, 0, issuedBefore, Now.AddDays(2)));
        Assert.Equal(0, store.PruneHandedOut(Now.AddDays(61), TimeSpan.FromDays(60)));
        Assert.Equal(2, store.PruneHandedOut(Now.AddDays(62), TimeSpan.FromDays(60)));
        Assert.Equal(2, store.OneTimePrekeyCount);
        Assert.Equal(4, store.OneTimeMlKemPrekeyCount);
    }
}
