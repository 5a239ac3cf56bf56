using Pigeon.Messaging.Delivery;
using Pigeon.Protocol.Delivery;

namespace Pigeon.Tests.Client;

/// <summary>
/// Delivery keys in the client core over the API in memory: each profile registers one, gives it to
/// its contacts with a request or an acceptance, and deposits sealed (no token) to whoever gave theirs,
/// identified only before that (the first message) or after the key stopped being accepted.
/// </summary>
public sealed class DeliveryKeyTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public DeliveryKeyTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task TheInvitationGoesIdentified_AndEverythingAfterTheKeysAreExchanged_GoesSealedWithoutAToken()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        Assert.Contains("PUT /v1/keys/delivery", _api.Requests);

        await alice.Contacts.InviteAsync(bob.Profile.AccountId, "hi", Ct);
        Assert.Equal(["POST /v1/messages"], Deposits());
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        _api.Requests.Clear();
        // Bob holds Alice's key from her request: his acceptance already goes sealed.
        await bob.Contacts.AcceptAsync("alice", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "sealed now", Ct);
        var texts = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        // The acceptance, the text, and Bob's delivery receipt for it.
        Assert.Equal(["POST /v1/messages/sealed", "POST /v1/messages/sealed", "POST /v1/messages/sealed"], Deposits());
        Assert.Contains(texts.Events, e => e.Body == "sealed now" && e.ContactId == alice.Profile.AccountId);
    }

    [Fact]
    public async Task AKeyTheServerNoLongerAccepts_IsForgotten_AndTheMessageGoesIdentified()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.Contacts.AcceptAsync("alice", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        // Bob registers a new key without telling Alice, as after removing someone.
        var rotated = DeliveryKey.Generate(2);
        await bob.CallServerAsync(api => api.SetDeliveryKeyVerifierAsync(rotated.Epoch, rotated.Verifier(bob.Profile.AccountId), Ct));
        _api.Requests.Clear();
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "still arrives", Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "and again", Ct);
        var texts = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        // Bob's delivery receipt goes sealed: he still holds Alice's key.
        Assert.Equal(["POST /v1/messages/sealed", "POST /v1/messages", "POST /v1/messages", "POST /v1/messages/sealed"], Deposits());
        Assert.Equal(["still arrives", "and again"], texts.Events.Where(e => e.Kind == ReceivedKind.Text).Select(e => e.Body));
    }

    private List<string> Deposits() => [.. _api.Requests.Where(r => r.StartsWith("POST /v1/messages", StringComparison.Ordinal) && !r.Contains("/ack", StringComparison.Ordinal))];
}
