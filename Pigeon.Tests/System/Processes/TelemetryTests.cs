using System.Net;
using System.Text;
using Pigeon.Api;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>
/// The one telemetry pipeline, on a running host: the series at <c>/metrics</c>, and traces sent to an
/// OTLP endpoint when one is configured.
/// </summary>
public sealed class TelemetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_OfARunningHost_HoldRequestDepositDeliveryLongPollAndGroupCommitSeries()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        // Co-hosted, one process has every series: the API's, the grains', Orleans' and Npgsql's.
        var silo = await cluster.StartCoHostedSiloAsync(Ct);
        using var http = silo.Api.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);

        var waiting = ApiClient.ReceiveAsync(http, bob, Ct, wait: 20);
        await WaitUntilAsync(http, text => PrometheusText.Sum(text, "pigeon_long_polls_active") >= 1);
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1, 2, 3]));
        Assert.Single((await waiting.WaitAsync(TimeSpan.FromSeconds(15), Ct)).Envelopes);

        var metrics = await http.GetStringAsync("/metrics", Ct);
        var requests = PrometheusText.Samples(metrics, "http_server_request_duration_seconds_count");
        Assert.True(requests.Any(s => s.Labels.Contains("http_route=\"/v1/messages/\"", StringComparison.Ordinal) && s.Labels.Contains("http_request_method=\"POST\"", StringComparison.Ordinal)),
            string.Join('\n', requests.Select(s => s.Labels)));
        Assert.Equal(1, PrometheusText.Sum(metrics, "pigeon_envelopes_deposited_total"));
        Assert.Equal(3, PrometheusText.Sum(metrics, "pigeon_envelopes_deposited_size_bytes_total"));
        Assert.Equal(1, PrometheusText.Sum(metrics, "pigeon_envelopes_delivered_total"));
        Assert.Equal(0, PrometheusText.Sum(metrics, "pigeon_long_polls_active"));
        Assert.True(PrometheusText.Sum(metrics, "pigeon_mailbox_commit_duration_seconds_count") >= 1);
        Assert.True(PrometheusText.Sum(metrics, "pigeon_mailbox_commit_operations_sum") >= 1);
        Assert.Equal(2, PrometheusText.Sum(metrics, "pigeon_accounts_registered_total"));
        // Orleans', Npgsql's and the runtime's own instruments, on the same endpoint.
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("orleans_", StringComparison.Ordinal));
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("db_client_", StringComparison.Ordinal));
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("dotnet_", StringComparison.Ordinal) || line.StartsWith("process_runtime_dotnet_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Traces_AreSentOverOtlp_FromTheRequestThroughTheGrainToPostgres_WhenAnEndpointIsConfigured()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        using var collector = new OtlpCollector();
        var telemetry = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        await cluster.StartSiloAsync(Ct, telemetry);
        var gateway = await cluster.StartGatewayAsync(Ct, telemetry);
        using var http = gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);

        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(alice.AccountId, Guid.NewGuid(), [1]));

        // The gateway's HTTP span, the silo's grain call, the group commit that made the envelope
        // durable and its PostgreSQL commands; the protobuf carries span names and attribute values as plain UTF-8.
        await collector.WaitUntilAsync(spans =>
            spans.Contains("POST /v1/messages", StringComparison.Ordinal)
            && spans.Contains("IMailboxGrain", StringComparison.Ordinal)
            && spans.Contains("pigeon.mailbox.commit", StringComparison.Ordinal)
            && spans.Contains("postgresql", StringComparison.Ordinal), TimeSpan.FromSeconds(30), Ct);
        Assert.DoesNotContain(alice.Token!, collector.Received, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(HttpClient http, Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string text;
        while (!condition(text = await http.GetStringAsync("/metrics", Ct)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"/metrics never met the condition:\n{text}");
            await Task.Delay(TimeSpan.FromMilliseconds(100), Ct);
        }
    }

    /// <summary>An OTLP/HTTP receiver on loopback that keeps every trace export it is sent, as text.</summary>
    private sealed class OtlpCollector : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly StringBuilder _received = new();
        private readonly Task _serving;

        public OtlpCollector()
        {
            Endpoint = new Uri($"http://127.0.0.1:{BuiltApps.FreePort()}/");
            _listener.Prefixes.Add(Endpoint.ToString());
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public Uri Endpoint { get; }

        public string Received
        {
            get
            {
                lock (_received)
                {
                    return _received.ToString();
                }
            }
        }

        public async Task WaitUntilAsync(Func<string, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!condition(Received))
            {
                Assert.True(DateTime.UtcNow < deadline, $"The collector did not receive the spans within {timeout}; it has {Received.Length} characters.");
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                if (context.Request.Url?.AbsolutePath == "/v1/traces")
                {
                    lock (_received)
                    {
                        _received.Append(Encoding.UTF8.GetString(body.ToArray()));
                    }
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
