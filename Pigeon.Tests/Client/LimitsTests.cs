using Pigeon.Api;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Prekeys;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Ratchet;
using SealedEnvelope = Pigeon.Protocol.Envelope.SealedEnvelope;

namespace Pigeon.Tests.Client;

/// <summary>
/// The limits agree: the largest message the protocol pads fits the server's envelope limit, and the
/// client keeps the private prekeys of a first message, and lets a message disappear, within the
/// server's envelope lifetime.
/// </summary>
public sealed class LimitsTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public LimitsTests() => _profiles = new CoreProfiles(_api);

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task TheLargestFirstMessage_Sealed_FitsTheServersEnvelopeLimit()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, TestContext.Current.CancellationToken);
        var session = (await alice.WithStoreAsync(database => database.Sessions.Load(bob.Address)))!.Current!;

        // Still unanswered, so every message carries the PQXDH prelude: the largest kind there is.
        var largest = SealedEnvelope.Seal(alice.Identity, DeviceAddress.PrimaryDeviceId, session.RemoteIdentity, DeviceAddress.Primary(bob.Profile.AccountId),
            EnvelopeContentType.RatchetMessage, session.Encrypt(new byte[Padding.MaxPlaintextSize]));

        Assert.InRange(largest.Length, Padding.MaxPaddedSize, ApiLimits.MaxEnvelopeBytes);
        // One padding bucket more would not fit.
        Assert.True(largest.Length + Padding.LinearStep > ApiLimits.MaxEnvelopeBytes);
    }

    [Fact]
    public void PrekeysOfFirstMessages_OutliveTheServersEnvelopeLifetime_AndTimersEndWithinIt()
    {
        var lifetime = TimeSpan.FromDays(ApiLimits.MaxEnvelopeLifetimeDays);

        Assert.True(PrekeyPolicy.RetiredPrekeyGrace > lifetime, "a first message waiting on the server outlives its signed prekey");
        Assert.True(PrekeyPolicy.HandedOutPrekeyGrace > lifetime, "a first message waiting on the server outlives its one-time prekey");
        Assert.True(DisappearingTimer.Longest <= lifetime);
    }
}
