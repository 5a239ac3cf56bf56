using System.Net;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;

namespace Pigeon.Tests.Client;

/// <summary>A profile session of the client core: created only once the server took the keys, opened, locked and opened again.</summary>
public sealed class ProfileSessionTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public ProfileSessionTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task Lock_ClosesTheStoreAndForgetsTheKeys_SoEverythingIsRefused_UntilOpenedAgain()
    {
        var alice = await _profiles.CreateAsync("alice");

        alice.Lock();

        Assert.True(alice.IsLocked);
        var refused = await Assert.ThrowsAsync<ProfileLockedException>(alice.Contacts.AllAsync);
        Assert.Equal(LockedReason.SessionLocked, refused.Reason);
        await Assert.ThrowsAsync<ProfileLockedException>(() => alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct));
        alice.Dispose();
        using var again = _profiles.Open("alice");
        Assert.Empty(await again.Contacts.AllAsync());
    }

    [Fact]
    public async Task Create_WhereAProfileExists_OrOpen_WhereNoneIs_IsRefused()
    {
        using var alice = await _profiles.CreateAsync("alice");

        await Assert.ThrowsAsync<ProfileExistsException>(() =>
            ProfileSession.CreateAsync(_profiles.Environment, _profiles.DirectoryOf("alice"), InMemoryApi.Server, "again", null, Ct));
        var missing = Assert.Throws<ProfileNotFoundException>(() => _profiles.Open("nobody"));
        Assert.False(missing.FileExists);
    }

    [Fact]
    public async Task AnInvitation_ToAnAccountNotSeenBefore_SpendsOneOneTimePrekeyOfIt()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        var before = _api.CountsOf(bob.Profile.AccountId);

        // Learning Bob's identity (to verify his device list) and the session both come from one bundle.
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);

        var after = _api.CountsOf(bob.Profile.AccountId);
        Assert.Equal((before.OneTimePrekeys - 1, before.OneTimeKemPrekeys - 1), (after.OneTimePrekeys, after.OneTimeKemPrekeys));
    }

    [Fact]
    public async Task Maintenance_ForgetsStrangersSessions_ButKeepsThoseWithOurOwnOtherDevices()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        using var stranger = Protocol.Identity.IdentityKeyPair.Generate();
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        var ownOther = new Protocol.Envelope.DeviceAddress(alice.Profile.AccountId, 2);
        var strangers = new Protocol.Envelope.DeviceAddress(stranger.AccountId, 1);
        await alice.WithStoreAsync(database =>
        {
            var record = database.Sessions.Load(new Protocol.Envelope.DeviceAddress(bob.Profile.AccountId, 1))!;
            database.Sessions.Save(ownOther, record);
            database.Sessions.Save(strangers, record);
        });

        await alice.MaintainAsync(Ct);

        // A session with another of our devices deleted here would make its next message a replayed setup.
        Assert.NotNull(await alice.WithStoreAsync(database => database.Sessions.Load(ownOther)));
        Assert.Null(await alice.WithStoreAsync(database => database.Sessions.Load(strangers)));
    }

    [Fact]
    public async Task Create_WithTheServerUnavailable_WritesNothing()
    {
        _api.Intercept = (_, _) => Task.FromResult<HttpResponseMessage?>(
            InMemoryApi.Problem(HttpStatusCode.ServiceUnavailable, ProblemTypes.Unavailable, "Try again."));

        var unreachable = await Assert.ThrowsAsync<ServerUnreachableException>(() =>
            ProfileSession.CreateAsync(_profiles.Environment, _profiles.DirectoryOf("alice"), InMemoryApi.Server, "alice", null, Ct));

        Assert.Equal(InMemoryApi.Server, unreachable.Server);
        Assert.False(ProfileDatabase.Exists(_profiles.DirectoryOf("alice")));
    }

    [Fact]
    public async Task Open_AnEncryptedProfile_WithoutOrWithAWrongPassphrase_IsRefused()
    {
        await ProfileSession.CreateAsync(_profiles.Environment, _profiles.DirectoryOf("alice"), InMemoryApi.Server, "alice", "secret", Ct);

        var missing = Assert.Throws<ProfileLockedException>(() => ProfileSession.Open(_profiles.Environment, _profiles.DirectoryOf("alice"), () => null));
        var wrong = Assert.Throws<ProfileLockedException>(() => ProfileSession.Open(_profiles.Environment, _profiles.DirectoryOf("alice"), () => "guess"));
        using var opened = ProfileSession.Open(_profiles.Environment, _profiles.DirectoryOf("alice"), () => "secret");

        Assert.Equal((LockedReason.PassphraseMissing, LockedReason.WrongPassphrase), (missing.Reason, wrong.Reason));
        Assert.True(opened.Profile.IsEncrypted);
    }
}
