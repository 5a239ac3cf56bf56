using System.Text;
using System.Text.Json;
using Pigeon.Client.Api;
using Pigeon.Client.Messaging;
using Gw = Pigeon.Gateway.Apis;

namespace Pigeon.Tests.Client;

/// <summary>The client's copies of the gateway's JSON contract, and its own inner message format.</summary>
public sealed class WireContractTests
{
    private static readonly JsonSerializerOptions GatewayJson = new(JsonSerializerDefaults.Web);

    // Both with the client's options: the client leaves nulls out, which the gateway reads as absent.
    private static void AssertSameShape(object client, object gateway) =>
        Assert.Equal(
            JsonSerializer.Serialize(gateway, GatewayClient.Json),
            JsonSerializer.Serialize(client, GatewayClient.Json));

    private static T RoundTrip<T>(object gateway) =>
        JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(gateway, GatewayJson), GatewayClient.Json)!;

    [Fact]
    public void RequestBodies_SerializeLikeTheGateways()
    {
        byte[] a = [1, 2, 3], b = [4, 5], c = [6];
        var id = Guid.NewGuid();
        AssertSameShape(new RegisterAccountRequest("x", a, b, c), new Gw.RegisterAccountRequest("x", a, b, c));
        AssertSameShape(new ChallengeRequest("x"), new Gw.ChallengeRequest("x"));
        AssertSameShape(new TokenRequest("x", a, b), new Gw.TokenRequest("x", a, b));
        AssertSameShape(
            new UploadPrekeysRequest(new PrekeyDto(1, a, b), new PrekeyDto(2, c, a), [new PrekeyDto(3, b)], [new PrekeyDto(4, a, c)]),
            new Gw.UploadPrekeysRequest(new Gw.PrekeyDto(1, a, b), new Gw.PrekeyDto(2, c, a), [new Gw.PrekeyDto(3, b)], [new Gw.PrekeyDto(4, a, c)]));
        AssertSameShape(new DepositRequest([new OutgoingEnvelope("r", id, a)]), new Gw.DepositRequest([new Gw.OutgoingEnvelope("r", id, a)]));
        AssertSameShape(new AckRequest([id]), new Gw.AckRequest([id]));
    }

    [Fact]
    public void ResponseBodies_ReadBackWhatTheGatewayWrites()
    {
        var now = DateTimeOffset.UtcNow;
        var id = Guid.NewGuid();
        byte[] key = [9, 8, 7];
        var bundle = RoundTrip<PrekeyBundleResponse>(new Gw.PrekeyBundleResponse(
            "acc", new Gw.IdentityDto(key, key, key), new Gw.PrekeyDto(1, key, key), null, new Gw.PrekeyDto(2, key, key), true));
        Assert.Equal("acc", bundle.AccountId);
        Assert.Equal(key, bundle.KemPrekey.Signature);
        Assert.True(bundle.KemPrekeyIsLastResort);
        Assert.Null(bundle.OneTimePrekey);

        var received = RoundTrip<ReceiveResponse>(new Gw.ReceiveResponse([new Gw.IncomingEnvelope(id, 7, key, now)], true, 4));
        Assert.Equal(id, received.Envelopes[0].MessageId);
        Assert.Equal(7, received.Envelopes[0].Sequence);
        Assert.True(received.HasMore);
        Assert.Equal(4, received.Acknowledged);
        AssertSameShape(new ReceiveResponse([new IncomingEnvelope(id, 7, key, now)], false, 2), new Gw.ReceiveResponse([new Gw.IncomingEnvelope(id, 7, key, now)], false, 2));

        Assert.Equal(now, RoundTrip<TokenResponse>(new Gw.TokenResponse("t", now)).ExpiresAt);
        var counts = RoundTrip<PrekeyCountsResponse>(new Gw.PrekeyCountsResponse(5, 6, true, true, 9, null));
        Assert.Equal((5, 9u, (uint?)null), (counts.OneTimePrekeys, counts.LowestOneTimePrekeyId!.Value, counts.LowestOneTimeKemPrekeyId));
        Assert.Equal(3, RoundTrip<AckResponse>(new Gw.AckResponse(3)).Acknowledged);
    }

    [Fact]
    public void InnerMessage_RoundTrips_AndIsCompactJson()
    {
        var sent = new InnerMessage(InnerMessageType.Text, "Alice", "hello ☃", DateTimeOffset.FromUnixTimeMilliseconds(1_764_043_200_000));

        var bytes = sent.ToBytes();

        Assert.Equal("""{"v":1,"t":"text","n":"Alice","b":"hello \u2603","at":1764043200000}""", Encoding.UTF8.GetString(bytes));
        Assert.Equal(sent, InnerMessage.Parse(bytes));
        var request = new InnerMessage(InnerMessageType.ContactRequest, "Bob", null, sent.SentAt);
        Assert.Equal(request, InnerMessage.Parse(request.ToBytes()));
    }

    [Theory]
    [InlineData("""{"v":2,"t":"text","n":"A","b":"x","at":0}""")]
    [InlineData("""{"v":1,"t":"poke","n":"A","at":0}""")]
    [InlineData("""{"v":1,"t":"text","n":"A","at":0}""")]
    [InlineData("not json")]
    [InlineData("""{"v":1,"t":"text","n":"\u001b[2J","b":"x","at":0}""")]
    public void InnerMessage_RefusesWhatItDoesNotKnow(string json) =>
        Assert.Throws<FormatException>(() => InnerMessage.Parse(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void InnerMessage_IgnoresUnknownMembers() =>
        Assert.Equal("x", InnerMessage.Parse("""{"v":1,"t":"text","n":"A","b":"x","at":0,"later":true}"""u8).Body);
}
