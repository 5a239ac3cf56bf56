using Microsoft.Extensions.Time.Testing;
using Pigeon.Api;
using Pigeon.Messaging.Prekeys;
using Pigeon.Messaging.Store;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Tests.Client;

/// <summary>
/// The prekey policy as pure decisions, and its upkeep (<see cref="PrekeyMaintenance"/>) against the
/// API in memory: drained pools are topped up, the signed prekeys rotate after a week, and one-time
/// prekeys the server handed out are dropped once their grace is over.
/// </summary>
public sealed class PrekeyPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PrekeyCountsResponse Server(int oneTime, int kem, bool signed = true, bool lastResort = true) =>
        new(oneTime, kem, signed, lastResort, oneTime > 0 ? 1u : null, kem > 0 ? 1u : null);

    [Fact]
    public void Decide_WithAStockedServer_AndAFreshSignedPrekey_UploadsNothing()
    {
        var plan = PrekeyPolicy.Decide(Server(PrekeyPolicy.LowWatermark, PrekeyPolicy.Target), 100, 100, Now.AddDays(-6), Now);

        Assert.True(plan.IsEmpty);
    }

    [Fact]
    public void Decide_BelowTheLowWatermark_TopsThatKindUpToTheTarget()
    {
        var plan = PrekeyPolicy.Decide(Server(PrekeyPolicy.LowWatermark - 1, 0), 100, 100, Now, Now);

        Assert.Equal(new PrekeyPlan(false, PrekeyPolicy.Target - PrekeyPolicy.LowWatermark + 1, PrekeyPolicy.Target), plan);
    }

    [Theory]
    [InlineData(7.0, true, true, true)]
    [InlineData(6.9, true, true, false)]
    [InlineData(0.0, false, true, true)]
    [InlineData(0.0, true, false, true)]
    public void Decide_RotatesTheSignedPrekeys_AfterAWeek_OrWhenTheServerLacksOne(double ageDays, bool signed, bool lastResort, bool rotate)
    {
        var plan = PrekeyPolicy.Decide(Server(50, 50, signed, lastResort), 50, 50, Now.AddDays(-ageDays), Now);

        Assert.Equal(rotate, plan.RotateSignedPrekeys);
    }

    [Fact]
    public void Decide_NeverGrowsTheLocalStorePastWhatItMayHold()
    {
        var nearlyFull = (PrekeyStore.MaxStoredPrekeys - PrekeyPolicy.ReservedForSignedPrekeys - 30) / 2;

        var plan = PrekeyPolicy.Decide(Server(0, 0), nearlyFull, nearlyFull, Now, Now);
        var full = PrekeyPolicy.Decide(Server(0, 0), PrekeyStore.MaxStoredPrekeys, 0, Now, Now);

        Assert.Equal((15, 15), (plan.OneTimePrekeysToAdd, plan.KemPrekeysToAdd));
        Assert.Equal((0, 0), (full.OneTimePrekeysToAdd, full.KemPrekeysToAdd));
    }

    [Theory]
    [InlineData(0, null, uint.MaxValue)]
    [InlineData(0, 7u, uint.MaxValue)]
    [InlineData(3, 7u, 7u)]
    [InlineData(3, null, 0u)]
    public void HeldFrom_TakesKeysForGoneOnlyWhenTheServerSaysSo(int count, uint? lowest, uint heldFrom) =>
        Assert.Equal(heldFrom, PrekeyPolicy.HeldFrom(count, lowest));

    [Fact]
    public async Task Maintain_WithAStockedServer_UploadsNothing()
    {
        var api = new InMemoryApi();
        using var profiles = new CoreProfiles(api);
        using var alice = await profiles.CreateAsync("alice");
        var before = api.Requests.Count;

        Assert.Null(await alice.Prekeys.MaintainAsync(Ct));
        Assert.Equal(["GET /v1/keys/count"], api.Requests.Skip(before).Where(r => !r.Contains("/v1/auth/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Maintain_TopsUpADrainedPool_RotatesAfterAWeek_AndDropsHandedOutKeysAfterTheirGrace()
    {
        var api = new InMemoryApi();
        var clock = new FakeTimeProvider(Now);
        using var profiles = new CoreProfiles(api, clock);
        var alice = await profiles.CreateAsync("alice");
        var id = alice.Profile.AccountId;
        var firstSigned = api.SignedPrekeyIdOf(id);
        api.HandOut(id, 86);

        var topUp = await alice.Prekeys.MaintainAsync(Ct);

        Assert.Equal((86, 86, false), (topUp!.OneTimePrekeys!.Count, topUp.OneTimeKemPrekeys!.Count, topUp.SignedPrekey is not null));
        Assert.Equal((PrekeyPolicy.Target, PrekeyPolicy.Target), (api.CountsOf(id).OneTimePrekeys, api.CountsOf(id).OneTimeKemPrekeys));
        Assert.Equal(firstSigned, api.SignedPrekeyIdOf(id));

        clock.Advance(PrekeyPolicy.SignedPrekeyLifetime);
        var rotated = await alice.Prekeys.MaintainAsync(Ct);

        Assert.NotNull(rotated!.SignedPrekey);
        Assert.NotNull(rotated.LastResortKemPrekey);
        Assert.Null(rotated.OneTimePrekeys);
        Assert.NotEqual(firstSigned, api.SignedPrekeyIdOf(id));
        alice.Dispose();
        Assert.Equal(2 * 86, LoadPrekeys(profiles, "alice").HandedOutOneTimePrekeyCount);

        // Past the grace the handed-out keys are gone; what is left is what the server holds.
        clock.Advance(PrekeyPolicy.HandedOutPrekeyGrace);
        using (var again = profiles.Open("alice"))
        {
            await again.Prekeys.MaintainAsync(Ct);
        }

        var pruned = LoadPrekeys(profiles, "alice");
        Assert.Equal(0, pruned.HandedOutOneTimePrekeyCount);
        Assert.Equal((api.CountsOf(id).OneTimePrekeys, api.CountsOf(id).OneTimeKemPrekeys), (pruned.OneTimePrekeyCount, pruned.OneTimeMlKemPrekeyCount));
    }

    [Fact]
    public async Task Maintain_AgainstTheFastestFetcherTheServerAllows_ForTwoWeeks_KeepsThePoolSuppliedAndTheStoreBounded()
    {
        var api = new InMemoryApi();
        var clock = new FakeTimeProvider(Now);
        using var profiles = new CoreProfiles(api, clock);
        using var alice = await profiles.CreateAsync("alice");
        var id = alice.Profile.AccountId;
        // The server's default Pigeon:Accounts:MaxOneTimePrekeyHandoutsPerHour: the fastest a stranger drains the pool.
        const int handoutsPerHour = 60;

        for (var hour = 0; hour < 14 * 24; hour++)
        {
            var counts = api.CountsOf(id);
            Assert.True(counts.OneTimePrekeys >= handoutsPerHour && counts.OneTimeKemPrekeys >= handoutsPerHour,
                $"hour {hour}: the server holds {counts.OneTimePrekeys}/{counts.OneTimeKemPrekeys} one-time prekeys, fewer than an hour of fetching takes");
            api.HandOut(id, handoutsPerHour);
            clock.Advance(TimeSpan.FromHours(1));
            await alice.Prekeys.MaintainAsync(Ct);
        }

        var stored = LoadPrekeys(profiles, "alice");
        Assert.InRange(stored.HandedOutOneTimePrekeyCount, PrekeyPolicy.MaxHandedOutKeptPerKind, 2 * PrekeyPolicy.MaxHandedOutKeptPerKind);
        Assert.True(stored.OneTimePrekeyCount <= PrekeyPolicy.MaxHandedOutKeptPerKind + PrekeyPolicy.Target, $"{stored.OneTimePrekeyCount} one-time X25519 prekeys kept");
        Assert.True(stored.OneTimeMlKemPrekeyCount <= PrekeyPolicy.MaxHandedOutKeptPerKind + PrekeyPolicy.Target, $"{stored.OneTimeMlKemPrekeyCount} one-time ML-KEM prekeys kept");
    }

    [Fact]
    public void PruneHandedOut_PastTheCountBound_DropsTheLongestHandedOutFirst()
    {
        var store = new PrekeyStore();
        var keys = store.GenerateOneTimePrekeys(10);
        // Handed out one by one: ids 1..6 leave the server an hour apart.
        for (var i = 1; i <= 6; i++)
        {
            store.MarkHandedOut(keys[i - 1].Id + 1, uint.MaxValue, store.NextPrekeyId, Now.AddHours(i));
        }

        var dropped = store.PruneHandedOut(Now.AddHours(7), TimeSpan.FromDays(60), keepPerKind: 4);

        Assert.Equal(2, dropped);
        Assert.Equal(4, store.HandedOutOneTimePrekeyCount);
        Assert.Equal(8, store.OneTimePrekeyCount);
        Assert.Null(store.FindOneTimePrekeyPrivate(keys[0].Id));
        Assert.Null(store.FindOneTimePrekeyPrivate(keys[1].Id));
        Assert.NotNull(store.FindOneTimePrekeyPrivate(keys[2].Id));
    }

    private static PrekeyStore LoadPrekeys(CoreProfiles profiles, string name)
    {
        using var database = ProfileDatabase.Open(profiles.DirectoryOf(name), () => null);
        return database.Prekeys.Load();
    }
}
