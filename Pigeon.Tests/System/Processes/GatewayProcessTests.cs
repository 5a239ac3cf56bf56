using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Pigeon.Api;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>PostgreSQL, a silo and a gateway (or a silo serving the API itself) as real processes, driven over HTTP on loopback.</summary>
public sealed class GatewayProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Api_OverRealProcesses_CarriesAConversationAndLogsNoSecrets(bool coHosted)
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var debug = new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Debug" };
        // Co-hosted, one silo process serves the API itself; otherwise a silo and a gateway.
        var silo = coHosted ? null : await cluster.StartSiloAsync(Ct);
        var gateway = await cluster.StartApiAsync(coHosted, Ct, debug);
        using var http = gateway.CreateClient();

        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        await ApiClient.UploadPrekeysAsync(http, bob, 5);
        var marker = Encoding.UTF8.GetBytes($"wire-marker-{Guid.NewGuid():N}");
        var payload = marker.Concat(RandomNumberGenerator.GetBytes(100)).ToArray();
        var messageId = Guid.NewGuid();

        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 20);
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, messageId, payload));
        var received = await waiting.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.Equal(payload, Assert.Single(received.Envelopes).Payload);
        Assert.Equal(1, await ApiClient.AckAsync(http, bob, messageId));

        await using (var count = database.DataSource.CreateCommand("SELECT count(*) FROM pigeon.envelopes"))
        {
            Assert.Equal(0L, (long)(await count.ExecuteScalarAsync(Ct))!);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready", Ct)).StatusCode);
        var logs = silo?.Process.Output + "\n" + gateway.Process.Output;
        // Debug lines are there (the deposit names its sender), and none names both ends of it.
        Assert.Contains(logs.Split('\n'), line => line.Contains("deposited", StringComparison.Ordinal) && line.Contains(alice.AccountId, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Split('\n'), line => line.Contains(alice.AccountId, StringComparison.Ordinal) && line.Contains(bob.AccountId, StringComparison.Ordinal));
        foreach (var secret in new[] { alice.Token!, bob.Token!, Encoding.UTF8.GetString(marker), Convert.ToBase64String(payload), cluster.TokenSigningKey })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Password", logs, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Gateway_WithAMetricsPort_AnswersMetricsOnlyThere()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Ct);
        var apiPort = BuiltApps.FreePort();
        var metricsPort = BuiltApps.FreePort();
        await cluster.StartGatewayAsync(Ct, new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{apiPort};http://127.0.0.1:{metricsPort}",
            ["Pigeon__Metrics__Port"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };

        await ApiClient.RegisterAndLoginAsync(api);

        var refused = await api.GetAsync("/metrics", Ct);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("pigeon_tokens_issued_total", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        // The Host header names the metrics port, but the connection is to the API port.
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        forged.Headers.Host = $"127.0.0.1:{metricsPort}";
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(forged, Ct)).StatusCode);

        var scraped = await metrics.GetStringAsync("/metrics", Ct);
        Assert.Equal(1, PrometheusText.Sum(scraped, "pigeon_tokens_issued_total"));
        Assert.Contains(PrometheusText.Samples(scraped, "http_server_request_duration_seconds_count"),
            s => s.Labels.Contains("http_route=\"/v1/auth/token\"", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/health/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task AnonymousLimit_KeysOnTheForwardedAddress_OnlyBehindATrustedProxy()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Ct);
        var limit = new Dictionary<string, string> { ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "2" };
        var behindProxy = await cluster.StartGatewayAsync(Ct, new Dictionary<string, string>(limit)
        {
            // The test's loopback connections play the ingress.
            ["Pigeon__ForwardedHeaders__KnownNetworks__0"] = "127.0.0.0/8",
        });
        var direct = await cluster.StartGatewayAsync(Ct, limit);

        using (var http = behindProxy.CreateClient())
        {
            Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "203.0.113.5"));
            Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "203.0.113.5"));
            Assert.Equal(HttpStatusCode.TooManyRequests, await ChallengeFromAsync(http, "203.0.113.5"));
            // Another client behind the same proxy has a limit of its own; the proxy's entry is the last one.
            Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "198.51.100.1, 203.0.113.6"));
        }

        // Without a trusted proxy the header is the client's own say: ignored, so it cannot dodge the limit.
        using (var http = direct.CreateClient())
        {
            Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "203.0.113.7"));
            Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "203.0.113.8"));
            Assert.Equal(HttpStatusCode.TooManyRequests, await ChallengeFromAsync(http, "203.0.113.9"));
        }
    }

    [Fact]
    public async Task AnonymousLimit_CountsAnIpv6ClientByItsSlash64()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Ct);
        var gateway = await cluster.StartGatewayAsync(Ct, new Dictionary<string, string>
        {
            ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "2",
            ["Pigeon__ForwardedHeaders__KnownNetworks__0"] = "127.0.0.0/8",
        });
        using var http = gateway.CreateClient();

        // Two addresses of one /64 share its limit, however far apart they are within it.
        Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "2001:db8:1:2::1"));
        Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "2001:db8:1:2:ffff:ffff:ffff:fffe"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await ChallengeFromAsync(http, "2001:db8:1:2:1234::9"));
        // The next /64 is another client.
        Assert.Equal(HttpStatusCode.NotFound, await ChallengeFromAsync(http, "2001:db8:1:3::1"));
    }

    private static async Task<HttpStatusCode> ChallengeFromAsync(HttpClient http, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/challenge")
        {
            Content = JsonContent.Create(new ChallengeRequest(new string('a', 32)), options: PigeonJson.Options),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request, Ct);
        return response.StatusCode;
    }
}
