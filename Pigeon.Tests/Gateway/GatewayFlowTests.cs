using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Pigeon.Gateway.Apis;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Tests.Grains;

namespace Pigeon.Tests.Gateway;

[Collection(PigeonClusterCollection.Name)]
public sealed class GatewayFlowTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gateway_RegisterLoginPublishDepositReceiveAck_RoundTrips()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var counts = await ApiClient.UploadPrekeysAsync(http, bob, oneTimeCount: 3);
        Assert.Equal(new PrekeyCountsResponse(3, 3, true, true), counts);

        using (var fetch = ApiClient.Authorized(HttpMethod.Get, $"/v1/keys/{bob.AccountId}", alice))
        using (var response = await http.SendAsync(fetch, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bundle = (await response.Content.ReadFromJsonAsync<PrekeyBundleResponse>(ApiClient.Json, Ct))!;
            Assert.Equal(bob.AccountId, bundle.AccountId);
            Assert.Equal(bob.Identity.PublicIdentity.SigningKey, bundle.Identity.SigningKey);
            Assert.NotNull(bundle.OneTimePrekey);
            Assert.False(bundle.KemPrekeyIsLastResort);
        }

        using (var count = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", bob))
        using (var response = await http.SendAsync(count, Ct))
        {
            Assert.Equal(new PrekeyCountsResponse(2, 2, true, true), await response.Content.ReadFromJsonAsync<PrekeyCountsResponse>(ApiClient.Json, Ct));
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

    [Fact]
    public async Task Gateway_RepeatedDepositOfOneMessageId_ReturnsTheSameReceipt()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var envelope = new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), RandomNumberGenerator.GetBytes(10));

        var first = await ApiClient.DepositAsync(http, alice, envelope);
        var again = await ApiClient.DepositAsync(http, alice, envelope);

        Assert.Equal(first.Receipts, again.Receipts);
        Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes);
    }

    [Fact]
    public async Task Gateway_LongPoll_ReturnsPromptlyAfterADeposit()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 20);
        await WaitForWaitingReceiveAsync(bob.AccountId);

        var messageId = Guid.NewGuid();
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, messageId, [1, 2, 3]));

        // The grains' clock is fake and never moves here: only the deposit can end this wait.
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(messageId, Assert.Single(result.Envelopes).MessageId);
    }

    [Fact]
    public async Task Gateway_LongPoll_ReturnsEmptyWhenTheWaitEnds()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 10);
        await WaitForWaitingReceiveAsync(bob.AccountId);

        fixture.Clock.Advance(TimeSpan.FromSeconds(10));

        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Empty(result.Envelopes);
        Assert.False(result.HasMore);
    }

    [Fact]
    public async Task Gateway_LongPoll_IsCancelledWhenTheClientGoesAway()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var waiting = ApiClient.ReceiveAsync(http, bob, abandon.Token, wait: 20);
        await WaitForWaitingReceiveAsync(bob.AccountId);

        await abandon.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await WaitForWaitingReceiveAsync(bob.AccountId, expected: 0);
    }

    [Fact]
    public async Task Gateway_HealthMetricsAndOpenApi_Answer()
    {
        using var http = fixture.Gateway.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready", Ct)).StatusCode);
        var metrics = await http.GetStringAsync("/metrics", Ct);
        Assert.Contains("pigeon_envelopes_deposited_total", metrics, StringComparison.Ordinal);
        Assert.Contains("pigeon_long_polls_open", metrics, StringComparison.Ordinal);
        Assert.Contains("http_request_duration_seconds", metrics, StringComparison.Ordinal);
        using var openApi = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json", Ct));
        var paths = openApi.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/accounts", "/v1/auth/challenge", "/v1/auth/token", "/v1/keys", "/v1/keys/{accountId}", "/v1/messages", "/v1/messages/ack" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        }
    }

    private async Task WaitForWaitingReceiveAsync(string accountId, int expected = 1)
    {
        var mailbox = fixture.Grains.GetGrain<IMailboxGrain>(accountId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((await mailbox.GetStatusAsync()).WaitingReceives != expected)
        {
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }
}
