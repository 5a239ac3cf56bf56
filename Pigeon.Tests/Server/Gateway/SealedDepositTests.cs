using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Gateway.Hosting;
using Pigeon.Protocol.Delivery;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// Sealed deposits (docs/adr/0003-sealed-sender.md): without a token, authorised by the recipient's
/// delivery key, no oracle for which accounts exist; and the identified route's per-sender bounds.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class SealedDepositTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Delivery keys as a client holds them: the server gets the verifier, deposits present epoch ‖ key.
    private static async Task<byte[]> SetDeliveryKeyAsync(HttpClient http, TestUser user, uint epoch = 1)
    {
        var key = DeliveryKey.Generate(epoch);
        using var request = ApiClient.Authorized(HttpMethod.Put, "/v1/keys/delivery", user, new DeliveryKeyRequest(key.Epoch, key.Verifier(user.AccountId)));
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return key.ToBytes();
    }

    private static byte[] RandomDeliveryKey() => DeliveryKey.Generate(1).ToBytes();

    [Fact]
    public async Task Sealed_ThroughPigeonApiClient_SetsTheKeyAndDepositsAnonymously()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var deliveryKey = DeliveryKey.Generate(7);
        using (var asBob = ApiClient.As(http, bob))
        {
            await asBob.SetDeliveryKeyVerifierAsync(deliveryKey.Epoch, deliveryKey.Verifier(bob.AccountId), Ct);
        }

        var key = deliveryKey.ToBytes();

        using var anonymous = new PigeonApiClient(http);
        var envelope = Envelope(bob, key);
        var receipts = await anonymous.DepositSealedAsync([envelope], Ct);
        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => anonymous.DepositSealedAsync([Envelope(bob, RandomDeliveryKey())], Ct));

        Assert.Equal(envelope.MessageId, Assert.Single(receipts.Receipts).MessageId);
        Assert.Equal(ProblemTypes.DeliveryRefused, refused.Type);
    }

    [Fact]
    public async Task ADepositsLifetime_IsHowLongTheServerKeepsIt_AndANonPositiveOneIsRefused()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var key = await SetDeliveryKeyAsync(http, bob);
        using var anonymous = new PigeonApiClient(http);
        using var asAlice = ApiClient.As(http, alice);
        var sealedOne = Envelope(bob, key) with { LifetimeSeconds = 3600 };
        var identified = new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1, 2, 3], LifetimeSeconds: 60);

        await anonymous.DepositSealedAsync([sealedOne], Ct);
        await asAlice.DepositAsync([identified], Ct);
        var zero = await Assert.ThrowsAsync<PigeonApiException>(() => anonymous.DepositSealedAsync([Envelope(bob, key) with { LifetimeSeconds = 0 }], Ct));
        var negative = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.DepositAsync([identified with { MessageId = Guid.NewGuid(), LifetimeSeconds = -5 }], Ct));

        Assert.Equal((ProblemTypes.InvalidRequest, ProblemTypes.InvalidRequest), (zero.Type, negative.Type));
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT message_id, expires_at - deposited_at FROM pigeon.envelopes WHERE mailbox_id = @mailbox ORDER BY seq");
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string>("mailbox", Pigeon.Grains.Abstractions.Mailboxes.MailboxKeys.Of(bob.AccountId, 1)));
        var kept = new List<(Guid, TimeSpan)>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                kept.Add((reader.GetGuid(0), reader.GetFieldValue<TimeSpan>(1)));
            }
        }

        Assert.Equal([(sealedOne.MessageId, TimeSpan.FromHours(1)), (identified.MessageId, TimeSpan.FromMinutes(1))], kept);
    }

    private static async Task<HttpResponseMessage> DepositSealedAsync(HttpClient http, params SealedEnvelope[] envelopes)
    {
        using var request = ApiClient.Authorized(HttpMethod.Post, "/v1/messages/sealed", null, new SealedDepositRequest(envelopes));
        Assert.Null(request.Headers.Authorization);
        return await http.SendAsync(request, Ct);
    }

    private static SealedEnvelope Envelope(TestUser recipient, byte[] key, byte fill = 7) =>
        new(recipient.AccountId, key, Guid.NewGuid(), [fill, fill, fill]);

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Sealed_WithTheRecipientsDeliveryKey_IsDepositedWithoutAToken(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var key = await SetDeliveryKeyAsync(http, bob);
        var envelope = Envelope(bob, key);

        using var response = await DepositSealedAsync(http, envelope);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = Assert.Single((await response.Content.ReadFromJsonAsync<DepositResponse>(PigeonJson.Options, Ct))!.Receipts);
        Assert.Equal(envelope.MessageId, receipt.MessageId);
        var received = Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
        Assert.Equal(envelope.Payload, received.Payload);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Sealed_WrongKey_NoKeySet_AndUnknownRecipient_GetTheSameAnswer_AndStoreNothing(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        var key = await SetDeliveryKeyAsync(http, bob);
        var stranger = new TestUser(Pigeon.Protocol.Identity.IdentityKeyPair.Generate());

        var answers = new List<string>();
        foreach (var envelope in new[] { Envelope(bob, RandomDeliveryKey()), Envelope(carol, key), Envelope(stranger, key) })
        {
            using var response = await DepositSealedAsync(http, envelope);
            await GatewayAuthTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.DeliveryRefused);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            answers.Add($"{problem.RootElement.GetProperty("title")} {problem.RootElement.GetProperty("detail")}");
        }

        Assert.Single(answers.Distinct());
        Assert.Empty((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
        Assert.Empty((await ApiClient.ReceiveAsync(http, carol, Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Sealed_ANewDeliveryKey_RevokesTheOldOne(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var old = await SetDeliveryKeyAsync(http, bob, epoch: 1);
        var current = await SetDeliveryKeyAsync(http, bob, epoch: 2);

        using var refused = await DepositSealedAsync(http, Envelope(bob, old));
        using var accepted = await DepositSealedAsync(http, Envelope(bob, current));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Sealed_BatchWithOneRefusedKey_StoresNoneOfIt(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        var bobKey = await SetDeliveryKeyAsync(http, bob);
        await SetDeliveryKeyAsync(http, carol);

        using var response = await DepositSealedAsync(http, Envelope(bob, bobKey), Envelope(carol, bobKey));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
    }

    [Theory]
    [InlineData(ApiMode.Gateway, """{"envelopes":[{"recipient":"{bob}","deliveryKey":"AAAA","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""")]
    [InlineData(ApiMode.CoHosted, """{"envelopes":[{"recipient":"{bob}","deliveryKey":"AAAA","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""")]
    [InlineData(ApiMode.Gateway, """{"envelopes":[{"recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""")]
    [InlineData(ApiMode.CoHosted, """{"envelopes":[{"recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""")]
    [InlineData(ApiMode.Gateway, """{"envelopes":[{"recipient":"{bob}","deliveryKey":null,"messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""")]
    [InlineData(ApiMode.CoHosted, """{"envelopes":[{"recipient":"{bob}","deliveryKey":null,"messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""")]
    [InlineData(ApiMode.Gateway, """{"envelopes":[{"recipient":"{bob}","deliveryKey":"{key}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":""}]}""")]
    [InlineData(ApiMode.CoHosted, """{"envelopes":[{"recipient":"{bob}","deliveryKey":"{key}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":""}]}""")]
    [InlineData(ApiMode.Gateway, """{"envelopes":[{"recipient":"{bob}","deliveryKey":"{key}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"},null]}""")]
    [InlineData(ApiMode.CoHosted, """{"envelopes":[{"recipient":"{bob}","deliveryKey":"{key}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"},null]}""")]
    [InlineData(ApiMode.Gateway, """{"envelopes":[]}""")]
    [InlineData(ApiMode.CoHosted, """{"envelopes":[]}""")]
    public async Task Sealed_MalformedBatch_Gets400AndStoresNothing(ApiMode mode, string body)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var key = await SetDeliveryKeyAsync(http, bob);

        using var response = await http.PostAsync("/v1/messages/sealed", new StringContent(
            body.Replace("{bob}", bob.AccountId, StringComparison.Ordinal).Replace("{key}", Convert.ToBase64String(key), StringComparison.Ordinal),
            System.Text.Encoding.UTF8, "application/json"), Ct);

        await GatewayAuthTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.InvalidRequest);
        Assert.Empty((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task DeliveryKey_OfTheWrongSize_IsRefused(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);

        using var request = ApiClient.Authorized(HttpMethod.Put, "/v1/keys/delivery", bob, new DeliveryKeyRequest(1, new byte[16]));
        using var response = await http.SendAsync(request, Ct);

        await GatewayAuthTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.InvalidRequest);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Sealed_PastARecipientsRate_IsAnswered429WithRetryAfter_WhileOtherRecipientsAreServed(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{LimitsOptions.Section}:SealedDepositBurstPerRecipient"] = "3",
            [$"{LimitsOptions.Section}:SealedDepositsPerSecondPerRecipient"] = "1",
        });
        using var http = gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        var bobKey = await SetDeliveryKeyAsync(http, bob);
        var carolKey = await SetDeliveryKeyAsync(http, carol);

        using var burst = await DepositSealedAsync(http, Envelope(bob, bobKey, 1), Envelope(bob, bobKey, 2), Envelope(bob, bobKey, 3));
        using var refused = await DepositSealedAsync(http, Envelope(bob, bobKey, 4));
        using var other = await DepositSealedAsync(http, Envelope(carol, carolKey));

        Assert.Equal(HttpStatusCode.OK, burst.StatusCode);
        await GatewayAuthTests.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After is missing");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(3, (await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes.Count);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Identified_PastTheNewRecipientLimit_IsAnswered429_AndStoresNothing(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var limit = new Pigeon.Grains.Accounts.AccountOptions().MaxNewRecipientsPerHour;
        var recipients = new List<TestUser>();
        for (var i = 0; i <= limit; i++)
        {
            recipients.Add(await ApiClient.RegisterAndLoginAsync(http));
        }

        await ApiClient.DepositAsync(http, alice, [.. recipients.Take(limit).Select(r => new OutgoingEnvelope(r.AccountId, Guid.NewGuid(), [1]))]);
        using var request = ApiClient.Authorized(HttpMethod.Post, "/v1/messages", alice,
            new DepositRequest([new OutgoingEnvelope(recipients[0].AccountId, Guid.NewGuid(), [2]), new OutgoingEnvelope(recipients[limit].AccountId, Guid.NewGuid(), [2])]));
        using var refused = await http.SendAsync(request, Ct);

        await GatewayAuthTests.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromMinutes(59), "Retry-After is missing");
        Assert.Single((await ApiClient.ReceiveAsync(http, recipients[0], Ct)).Envelopes);
        Assert.Empty((await ApiClient.ReceiveAsync(http, recipients[limit], Ct)).Envelopes);
    }

    [Fact]
    public async Task Identified_OneSendersUnacknowledgedEnvelopes_AreBounded_WhileSealedDepositsStillArrive()
    {
        using var http = fixture.Gateway.CreateClient();
        var stranger = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var key = await SetDeliveryKeyAsync(http, bob);
        var limit = PigeonClusterFixture.MaxPendingPerIdentifiedSender;
        await ApiClient.DepositAsync(http, stranger, [.. Enumerable.Range(0, limit).Select(i => new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [(byte)i]))]);

        using var request = ApiClient.Authorized(HttpMethod.Post, "/v1/messages", stranger,
            new DepositRequest([new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [9])]));
        using var refused = await http.SendAsync(request, Ct);
        using var sealedDeposit = await DepositSealedAsync(http, Envelope(bob, key));

        await GatewayAuthTests.AssertProblemAsync(refused, HttpStatusCode.Conflict, ProblemTypes.MailboxFull);
        Assert.Equal(HttpStatusCode.OK, sealedDeposit.StatusCode);
        var held = (await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes;
        Assert.Equal(limit + 1, held.Count);
        await ApiClient.AckAsync(http, bob, held[0].MessageId);
        await ApiClient.DepositAsync(http, stranger, new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [10]));
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Deposits_OnBothRoutes_LogNoLineNamingBothEnds_AtAnyLevel(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Orleans"] = "Trace",
        });
        using var http = gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var key = await SetDeliveryKeyAsync(http, bob);
        var before = gateway.Logs.Count;

        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1]));
        using var sealedDeposit = await DepositSealedAsync(http, Envelope(bob, key));
        await ApiClient.ReceiveAsync(http, bob, Ct);

        var lines = gateway.Logs.Skip(before).ToList();
        Assert.Contains(lines, line => line.Contains(alice.AccountId, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains(alice.AccountId, StringComparison.Ordinal) && line.Contains(bob.AccountId, StringComparison.Ordinal));
    }
}
