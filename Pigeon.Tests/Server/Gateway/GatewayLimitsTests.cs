using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Gateway.Hosting;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>Rate and concurrency limits answer 429 with Retry-After; nothing a client sends is logged.</summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class GatewayLimitsTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Account_PastItsRequestRate_IsAnswered429WithRetryAfter(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{LimitsOptions.Section}:AccountBurst"] = "3",
            [$"{LimitsOptions.Section}:AccountRequestsPerSecond"] = "1",
        });
        using var http = gateway.CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);

        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            using var request = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", user);
            statuses.Add(await http.SendAsync(request, Ct));
        }

        Assert.All(statuses.Take(3), response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        var refused = statuses[3];
        await GatewayAuthTests.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After is missing");

        // Another account has its own bucket.
        var other = await ApiClient.RegisterAndLoginAsync(http);
        using var otherRequest = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", other);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(otherRequest, Ct)).StatusCode);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task RequestHead_PastItsConfiguredLimits_IsAnswered414Or431Problems(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{LimitsOptions.Section}:MaxRequestLineBytes"] = "1024",
            [$"{LimitsOptions.Section}:MaxRequestHeaders"] = "10",
            [$"{LimitsOptions.Section}:MaxRequestHeaderBytes"] = "2048",
        });
        using var http = gateway.CreateClient();

        using var longLine = await http.GetAsync($"/health/live?pad={new string('a', 1100)}", Ct);
        using var manyFields = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        for (var i = 0; i < 12; i++)
        {
            manyFields.Headers.Add($"X-Pad-{i}", "x");
        }

        using var tooMany = await http.SendAsync(manyFields, Ct);
        using var largeFields = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        largeFields.Headers.Add("X-Pad", new string('b', 2100));
        using var tooLarge = await http.SendAsync(largeFields, Ct);
        using var withinAll = await http.GetAsync($"/health/live?pad={new string('a', 900)}", Ct);

        await GatewayAuthTests.AssertProblemAsync(longLine, HttpStatusCode.RequestUriTooLong, ProblemTypes.RequestLineTooLong);
        await GatewayAuthTests.AssertProblemAsync(tooMany, HttpStatusCode.RequestHeaderFieldsTooLarge, ProblemTypes.HeadersTooLarge);
        await GatewayAuthTests.AssertProblemAsync(tooLarge, HttpStatusCode.RequestHeaderFieldsTooLarge, ProblemTypes.HeadersTooLarge);
        Assert.Equal(HttpStatusCode.OK, withinAll.StatusCode);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Account_PastItsBundleFetches_IsAnswered429_AndConsumesNoMorePrekeys(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{LimitsOptions.Section}:BundleFetchesPerMinute"] = "2",
        });
        using var http = gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        await ApiClient.UploadPrekeysAsync(http, bob, 5);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var fetch = ApiClient.Authorized(HttpMethod.Get, $"/v1/keys/{bob.AccountId}/1", alice);
            using var response = await http.SendAsync(fetch, Ct);
            statuses.Add(response.StatusCode);
            if (i == 2)
            {
                await GatewayAuthTests.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited);
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        using (var count = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", bob))
        using (var counted = await http.SendAsync(count, Ct))
        {
            Assert.Equal(3, JsonDocument.Parse(await counted.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("oneTimePrekeys").GetInt32());
        }

        // The limit is the fetcher's: another account still gets a bundle, and Alice's other requests still pass.
        using var carolFetch = ApiClient.Authorized(HttpMethod.Get, $"/v1/keys/{bob.AccountId}/1", carol);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(carolFetch, Ct)).StatusCode);
        using var aliceCount = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", alice);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(aliceCount, Ct)).StatusCode);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Address_PastItsAnonymousRate_IsAnswered429WithRetryAfter(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{LimitsOptions.Section}:AnonymousRequestsPerMinute"] = "2",
        });
        using var http = gateway.CreateClient();
        var body = new ChallengeRequest("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");

        using var first = await http.PostAsJsonAsync("/v1/auth/challenge", body, PigeonJson.Options, Ct);
        using var second = await http.PostAsJsonAsync("/v1/auth/challenge", body, PigeonJson.Options, Ct);
        using var third = await http.PostAsJsonAsync("/v1/auth/challenge", body, PigeonJson.Options, Ct);

        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        await GatewayAuthTests.AssertProblemAsync(third, HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited);
        Assert.NotNull(third.Headers.RetryAfter);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Account_PastItsConcurrentLongPolls_IsAnswered429(ApiMode mode)
    {
        fixture.RequirePostgres();
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{LimitsOptions.Section}:MaxConcurrentLongPolls"] = "1",
        });
        using var http = gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 20);
        var mailbox = gateway.Grains.GetGrain<Pigeon.Grains.Abstractions.Mailboxes.IMailboxGrain>(Pigeon.Grains.Abstractions.Mailboxes.MailboxKeys.Of(bob.AccountId, 1));
        while ((await mailbox.GetStatusAsync()).WaitingReceives == 0)
        {
            await Task.Yield();
        }

        using var second = ApiClient.Authorized(HttpMethod.Get, "/v1/messages?wait=20", bob);
        using var refused = await http.SendAsync(second, Ct);

        await GatewayAuthTests.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited);
        Assert.NotNull(refused.Headers.RetryAfter);
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1]));
        Assert.Single((await waiting).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Logs_HoldNoTokenCiphertextKeyOrSignature(ApiMode mode)
    {
        fixture.RequirePostgres();
        // Every category at Trace, the framework's included: the test must see all that could ever be logged.
        await using var gateway = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Orleans"] = "Trace",
        });
        using var http = gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        await ApiClient.UploadPrekeysAsync(http, bob, 2);
        var payload = Encoding.UTF8.GetBytes($"ciphertext-marker-{Guid.NewGuid():N}").Concat(RandomNumberGenerator.GetBytes(64)).ToArray();
        var messageId = Guid.NewGuid();
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, messageId, payload));
        await ApiClient.ReceiveAsync(http, bob, Ct);
        await ApiClient.AckAsync(http, bob, messageId);
        // A failure path too: a bad token and a bad body are logged, if at all, without their content.
        using var badToken = new HttpRequestMessage(HttpMethod.Get, "/v1/messages");
        badToken.Headers.TryAddWithoutValidation("Authorization", $"Bearer {alice.Token}tampered");
        await http.SendAsync(badToken, Ct);

        var logs = string.Join('\n', gateway.Logs);
        Assert.NotEmpty(gateway.Logs);
        Assert.Contains(messageId.ToString(), logs, StringComparison.Ordinal);
        var secrets = new[]
        {
            alice.Token!, bob.Token!, alice.Token!.Split('.')[^1],
            Convert.ToBase64String(payload), Encoding.UTF8.GetString(payload, 0, 50),
            Convert.ToBase64String(alice.Identity.PublicIdentity.SigningKey),
            Convert.ToBase64String(alice.Identity.PublicIdentity.AgreementKeySignature),
            Convert.ToHexString(payload[..16]),
        };
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logs, StringComparison.OrdinalIgnoreCase);
        }
    }
}
