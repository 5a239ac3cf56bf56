using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

[Collection(PigeonClusterCollection.Name)]
public sealed class GatewayFlowTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_RegisterLoginPublishDepositReceiveAck_RoundTrips(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var counts = await ApiClient.UploadPrekeysAsync(http, bob, oneTimeCount: 3);
        // Ids run across kinds in upload order: the signed and last-resort keys are 1 and 2, then X25519 3-5, then ML-KEM 6-8.
        Assert.Equal(new PrekeyCountsResponse(3, 3, true, true, 3, 6), counts);

        using (var fetch = ApiClient.Authorized(HttpMethod.Get, $"/v1/keys/{bob.AccountId}/1", alice))
        using (var response = await http.SendAsync(fetch, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bundle = (await response.Content.ReadFromJsonAsync<PrekeyBundleResponse>(PigeonJson.Options, Ct))!;
            Assert.Equal(bob.AccountId, bundle.AccountId);
            Assert.Equal(bob.Identity.PublicIdentity.SigningKey, bundle.Identity.SigningKey);
            Assert.NotNull(bundle.OneTimePrekey);
            Assert.False(bundle.KemPrekeyIsLastResort);
        }

        using (var count = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", bob))
        using (var response = await http.SendAsync(count, Ct))
        {
            // The fetch took the lowest of each pool.
            Assert.Equal(new PrekeyCountsResponse(2, 2, true, true, 4, 7), await response.Content.ReadFromJsonAsync<PrekeyCountsResponse>(PigeonJson.Options, Ct));
        }

        var payload = RandomNumberGenerator.GetBytes(500);
        var messageId = Guid.NewGuid();
        var receipt = Assert.Single((await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, messageId, payload))).Receipts);
        Assert.Equal(bob.AccountId, receipt.Recipient);

        var received = await ApiClient.ReceiveAsync(http, bob, Ct);
        var envelope = Assert.Single(received.Envelopes);
        Assert.Equal(messageId, envelope.MessageId);
        Assert.Equal(payload, envelope.Payload);
        Assert.Equal(receipt.Sequence, envelope.Sequence);

        Assert.Equal(1, await ApiClient.AckAsync(http, bob, messageId));
        Assert.Empty((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_PollCarryingAcks_DeletesThemFirst_CountsThem_AndTouchesNoOtherMailbox(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        var forBob = Enumerable.Range(0, 3).Select(_ => new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), RandomNumberGenerator.GetBytes(20))).ToArray();
        var forCarol = new OutgoingEnvelope(carol.AccountId, Guid.NewGuid(), [9, 9]);
        await ApiClient.DepositAsync(http, alice, [.. forBob, forCarol]);
        var first = await ApiClient.ReceiveAsync(http, bob, Ct);
        // One batch is deposited in parallel, so its order in the mailbox is not the request's.
        var ids = first.Envelopes.Select(e => e.MessageId).ToList();
        Assert.Equal(forBob.Select(e => e.MessageId).Order(), ids.Order());
        Assert.Equal(0, first.Acknowledged);
        var acknowledgedBefore = await MetricAsync(http, "pigeon_envelopes_acknowledged_total");

        // Two of Bob's, one of Carol's and one nobody has: only Bob's two are his to delete.
        var next = await ApiClient.ReceiveAsync(http, bob, Ct, after: first.Envelopes[^1].Sequence,
            ack: [ids[0], ids[1], forCarol.MessageId, Guid.NewGuid()]);

        Assert.Empty(next.Envelopes);
        Assert.False(next.HasMore);
        Assert.Equal(2, next.Acknowledged);
        Assert.Equal(ids[2], Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes).MessageId);
        Assert.Equal(forCarol.MessageId, Assert.Single((await ApiClient.ReceiveAsync(http, carol, Ct)).Envelopes).MessageId);
        // The counter is the host's, shared with tests running beside this one on it.
        Assert.True(await MetricAsync(http, "pigeon_envelopes_acknowledged_total") >= acknowledgedBefore + 2);

        // Carrying the same acknowledgement again (a retried poll) deletes nothing more.
        var again = await ApiClient.ReceiveAsync(http, bob, Ct, after: 0, ack: [ids[0], ids[1]]);
        Assert.Equal(0, again.Acknowledged);
        Assert.Equal(ids[2], Assert.Single(again.Envelopes).MessageId);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_PollCarryingAcks_DeletesThemBeforeItWaits_AndReportsTheCountWithTheNextEnvelope(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var first = new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1]);
        await ApiClient.DepositAsync(http, alice, first);
        var received = Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);

        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, after: received.Sequence, wait: 20, ack: [first.MessageId]);
        await WaitForWaitingReceiveAsync(mode, bob.AccountId);
        Assert.Equal(0, (await fixture.Api(mode).Grains.GetGrain<IMailboxGrain>(MailboxKeys.Of(bob.AccountId, 1)).GetStatusAsync()).Envelopes);

        var second = new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [2]);
        await ApiClient.DepositAsync(http, alice, second);
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(second.MessageId, Assert.Single(result.Envelopes).MessageId);
        Assert.Equal(1, result.Acknowledged);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_RepeatedDepositOfOneMessageId_ReturnsTheSameReceipt(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var envelope = new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), RandomNumberGenerator.GetBytes(10));

        var first = await ApiClient.DepositAsync(http, alice, envelope);
        var again = await ApiClient.DepositAsync(http, alice, envelope);

        Assert.Equal(first.Receipts, again.Receipts);
        Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
    }

    [Fact]
    public async Task TwoGateways_WithOneKey_ServeOneConversation_WhicheverReplicaEachRequestReaches()
    {
        fixture.RequirePostgres();
        await using var first = new GatewayFactory(fixture.Cluster);
        await using var second = new GatewayFactory(fixture.Cluster, new Dictionary<string, string?>
        {
            [$"{Pigeon.Gateway.Hosting.AuthOptions.Section}:TokenSigningKey"] = first.TokenSigningKey,
        });
        using var a = first.CreateClient();
        using var b = second.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(a);
        var bob = await ApiClient.RegisterAndLoginAsync(b);

        // A challenge issued by one replica is redeemed at the other, and stays single-use there.
        var challenge = await PostAsync<ChallengeResponse>(a, "/v1/auth/challenge", new ChallengeRequest(alice.AccountId));
        var answer = new TokenRequest(alice.AccountId, challenge.Challenge, ApiClient.SignChallenge(a, alice, challenge.Challenge));
        using (var redeemed = await b.PostAsJsonAsync("/v1/auth/token", answer, PigeonJson.Options, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);
            alice.Token = (await redeemed.Content.ReadFromJsonAsync<TokenResponse>(PigeonJson.Options, Ct))!.Token;
        }

        using (var replayed = await a.PostAsJsonAsync("/v1/auth/token", answer, PigeonJson.Options, Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        }

        // Alice's token from the second replica deposits at the first; Bob, signed in at the second, receives there.
        var waiting = ApiClient.ReceiveAsync(b, bob, Ct, wait: 20);
        var messageId = Guid.NewGuid();
        await ApiClient.DepositAsync(a, alice, new OutgoingEnvelope(bob.AccountId, messageId, RandomNumberGenerator.GetBytes(64)));
        var received = await waiting.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.Equal(messageId, Assert.Single(received.Envelopes).MessageId);
        Assert.Equal(1, await ApiClient.AckAsync(a, bob, messageId));
    }

    private static async Task<T> PostAsync<T>(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body, PigeonJson.Options, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<T>(PigeonJson.Options, Ct))!;
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_LongPoll_ReturnsPromptlyAfterADeposit(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 20);
        await WaitForWaitingReceiveAsync(mode, bob.AccountId);

        var messageId = Guid.NewGuid();
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, messageId, [1, 2, 3]));

        // The grains' clock is fake and never moves here: only the deposit can end this wait.
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(messageId, Assert.Single(result.Envelopes).MessageId);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_LongPoll_ReturnsEmptyWhenTheWaitEnds(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 10);
        await WaitForWaitingReceiveAsync(mode, bob.AccountId);

        fixture.Api(mode).GrainClock.Advance(TimeSpan.FromSeconds(10));

        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Empty(result.Envelopes);
        Assert.False(result.HasMore);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_LongPoll_IsCancelledWhenTheClientGoesAway(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var waiting = ApiClient.ReceiveAsync(http, bob, abandon.Token, wait: 20);
        await WaitForWaitingReceiveAsync(mode, bob.AccountId);

        await abandon.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await WaitForWaitingReceiveAsync(mode, bob.AccountId, expected: 0);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_HealthMetricsAndOpenApi_Answer(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        // Something to count, whichever test ran first.
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(alice.AccountId, Guid.NewGuid(), [1]));
        await ApiClient.ReceiveAsync(http, alice, Ct);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready", Ct)).StatusCode);
        var metrics = await http.GetStringAsync("/metrics", Ct);
        Assert.True(PrometheusText.Sum(metrics, "pigeon_envelopes_deposited_total") >= 1);
        Assert.True(PrometheusText.Sum(metrics, "pigeon_envelopes_delivered_total") >= 1);
        Assert.Single(PrometheusText.Samples(metrics, "pigeon_long_polls_active"));
        // ASP.NET Core's own, by route, as OpenTelemetry's semantic conventions name it.
        Assert.Contains(PrometheusText.Samples(metrics, "http_server_request_duration_seconds_count"),
            s => s.Labels.Contains("http_route=\"/v1/messages/\"", StringComparison.Ordinal));
        using var openApi = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json", Ct));
        var paths = openApi.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/accounts", "/v1/auth/challenge", "/v1/auth/token", "/v1/keys", "/v1/keys/{accountId}/{deviceId}", "/v1/messages", "/v1/provisioning", "/v1/provisioning/{slotId}", "/v1/messages/ack" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        }

        var receive = paths.GetProperty("/v1/messages").GetProperty("get");
        var ack = Assert.Single(receive.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "ack");
        Assert.Equal("query", ack.GetProperty("in").GetString());
        Assert.Contains("\"uuid\"", ack.GetProperty("schema").GetRawText(), StringComparison.Ordinal);
        Assert.Contains("POST /v1/messages/ack", receive.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_OfTwoHostsInOneProcess_CountOnlyWhatEachServed_AndOutliveTheOther()
    {
        fixture.RequirePostgres();
        await using var first = fixture.StartApi(ApiMode.Gateway);
        using var a = first.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(a);
        await using (var second = fixture.StartApi(ApiMode.Gateway))
        {
            using var b = second.CreateClient();
            var bob = await ApiClient.RegisterAndLoginAsync(b);
            var sent = Enumerable.Range(0, 3).Select(_ => new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1])).ToArray();
            await ApiClient.DepositAsync(b, bob, sent);
            Assert.Equal(3, (await ApiClient.ReceiveAsync(b, bob, Ct)).Envelopes.Count);
            Assert.Equal(3, await ApiClient.AckAsync(b, bob, [.. sent.Select(e => e.MessageId)]));

            var atSecond = await b.GetStringAsync("/metrics", Ct);
            Assert.Equal(3, Assert.Single(PrometheusText.Samples(atSecond, "pigeon_envelopes_deposited_total")).Value);
            Assert.Equal(3, Assert.Single(PrometheusText.Samples(atSecond, "pigeon_envelopes_acknowledged_total")).Value);
            // The first host has served none of it.
            var atFirst = await a.GetStringAsync("/metrics", Ct);
            Assert.Empty(PrometheusText.Samples(atFirst, "pigeon_envelopes_deposited_total"));
            Assert.Equal(1, Assert.Single(PrometheusText.Samples(atFirst, "pigeon_accounts_registered_total")).Value);
        }

        // The second host has stopped; the first still has every series of its own, once.
        var mine = new OutgoingEnvelope(alice.AccountId, Guid.NewGuid(), [1]);
        await ApiClient.DepositAsync(a, alice, mine);
        Assert.Single((await ApiClient.ReceiveAsync(a, alice, Ct)).Envelopes);
        Assert.Equal(1, await ApiClient.AckAsync(a, alice, mine.MessageId));
        var metrics = await a.GetStringAsync("/metrics", Ct);
        Assert.Equal(1, Assert.Single(PrometheusText.Samples(metrics, "pigeon_envelopes_deposited_total")).Value);
        Assert.Equal(1, Assert.Single(PrometheusText.Samples(metrics, "pigeon_envelopes_delivered_total")).Value);
        Assert.Equal(1, Assert.Single(PrometheusText.Samples(metrics, "pigeon_envelopes_acknowledged_total")).Value);
        Assert.Equal(0, Assert.Single(PrometheusText.Samples(metrics, "pigeon_long_polls_active")).Value);
    }

    private static async Task<double> MetricAsync(HttpClient http, string name) =>
        PrometheusText.Sum(await http.GetStringAsync("/metrics", Ct), name);

    private async Task WaitForWaitingReceiveAsync(ApiMode mode, string accountId, int expected = 1)
    {
        var mailbox = fixture.Api(mode).Grains.GetGrain<IMailboxGrain>(MailboxKeys.Of(accountId, 1));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((await mailbox.GetStatusAsync()).WaitingReceives != expected)
        {
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }
}
