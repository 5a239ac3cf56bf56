using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>A silo and a gateway as processes, for the requests Kestrel itself sees first.</summary>
public sealed class GatewayProcessFixture : IAsyncLifetime
{
    private TestDatabase? _database;
    private ProcessCluster? _cluster;
    private GatewayHandle? _gateway;

    /// <summary>The running gateway; skips or fails the test when there is no PostgreSQL.</summary>
    public GatewayHandle Gateway
    {
        get
        {
            PostgresRequirement.ConnectionString();
            return _gateway ?? throw new InvalidOperationException("The gateway did not start.");
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (!PostgresRequirement.IsConfigured)
        {
            return;
        }

        var cancellation = TestContext.Current.CancellationToken;
        _database = await TestDatabase.CreateAsync(ct: cancellation);
        _cluster = new ProcessCluster(_database.ConnectionString);
        await _cluster.StartSiloAsync(cancellation);
        _gateway = await _cluster.StartGatewayAsync(cancellation);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>
/// Malformed and oversized request heads sent as raw bytes over loopback to a gateway process:
/// each is refused with its status, with a ProblemDetails where the README promises one, and with
/// Kestrel's empty body where the README says Kestrel answers alone.
/// </summary>
public sealed class KestrelErrorTests(GatewayProcessFixture fixture) : IClassFixture<GatewayProcessFixture>
{
    private const string Host = "Host: 127.0.0.1\r\n";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WellFormedRequest_IsServed()
    {
        var response = await SendAsync($"GET /health/live HTTP/1.1\r\n{Host}Connection: close\r\n\r\n");

        Assert.Equal(200, response.Status);
    }

    [Fact]
    public async Task RequestLine_OverTheLimit_Gets414Problem()
    {
        var response = await SendAsync($"GET /health/live?pad={new string('a', 9 * 1024)} HTTP/1.1\r\n{Host}\r\n");

        AssertProblem(response, 414, "request-line-too-long");
    }

    [Fact]
    public async Task HeaderFields_OverTheByteLimit_Get431Problem()
    {
        var headers = string.Concat(Enumerable.Range(0, 40).Select(i => $"X-Pad-{i}: {new string('b', 1000)}\r\n"));

        var response = await SendAsync($"GET /health/live HTTP/1.1\r\n{Host}{headers}\r\n");

        AssertProblem(response, 431, "headers-too-large");
    }

    [Fact]
    public async Task HeaderFields_OverTheCountLimit_Get431Problem()
    {
        var headers = string.Concat(Enumerable.Range(0, 150).Select(i => $"X-Pad-{i}: c\r\n"));

        var response = await SendAsync($"GET /health/live HTTP/1.1\r\n{Host}{headers}\r\n");

        AssertProblem(response, 431, "headers-too-large");
    }

    [Theory]
    [InlineData("X-Note: caf\u00e9\r\n")] // obs-text, valid HTTP (RFC 9110 §5.5), not accepted by the API
    [InlineData("X-Note: a\u0001b\r\n")] // a control character
    public async Task HeaderValue_WithBytesOutsideVisibleAscii_Gets400Problem(string header)
    {
        var response = await SendAsync($"GET /health/live HTTP/1.1\r\n{Host}{header}\r\n");

        AssertProblem(response, 400, "invalid-request");
    }

    [Fact]
    public async Task RequestBody_ThatStopsArriving_Gets408Problem()
    {
        // Kestrel's minimum body data rate (240 bytes/s after a 5 s grace period) ends the wait.
        var response = await SendAsync(
            $"POST /v1/auth/challenge HTTP/1.1\r\n{Host}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"accountId\":");

        AssertProblem(response, 408, "request-timeout");
    }

    [Theory]
    [InlineData("GET /health/live HTTP/1.1\r\nHost: exa mple\r\n\r\n", 400)] // a malformed Host
    [InlineData("GET /health/live HTTP/1.1\r\n\r\n", 400)] // no Host
    [InlineData("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX Note: a\r\n\r\n", 400)] // a malformed header name
    [InlineData("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\0b\r\n\r\n", 400)] // a NUL byte
    [InlineData("GET /health/live HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n", 505)] // an HTTP version Kestrel does not speak
    public async Task RequestHead_KestrelRefusesItself_GetsTheStatusWithAnEmptyBody(string head, int status)
    {
        var response = await SendAsync(head);

        AssertKestrelAlone(response, status);
    }

    [Fact]
    public async Task RequestLine_OverKestrelsCeiling_Gets414WithAnEmptyBody()
    {
        var response = await SendAsync($"GET /health/live?pad={new string('a', 17 * 1024)} HTTP/1.1\r\n{Host}\r\n");

        AssertKestrelAlone(response, 414);
    }

    [Fact]
    public async Task HeaderFields_OverKestrelsCeiling_Get431WithAnEmptyBody()
    {
        var headers = string.Concat(Enumerable.Range(0, 70).Select(i => $"X-Pad-{i}: {new string('b', 1000)}\r\n"));

        var response = await SendAsync($"GET /health/live HTTP/1.1\r\n{Host}{headers}\r\n");

        AssertKestrelAlone(response, 431);
    }

    private static void AssertProblem(RawResponse response, int status, string type)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal("application/problem+json", response.Header("Content-Type")?.Split(';')[0]);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("urn:pigeon:problem:" + type, problem.RootElement.GetProperty("type").GetString());
    }

    private static void AssertKestrelAlone(RawResponse response, int status)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal("0", response.Header("Content-Length"));
        Assert.Empty(response.Body);
    }

    /// <summary>Writes <paramref name="request"/> as Latin-1 bytes and reads the response until the server closes.</summary>
    private async Task<RawResponse> SendAsync(string request)
    {
        var address = fixture.Gateway.BaseAddress;
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port, Ct);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), Ct);
        // No half-close: Kestrel takes the end of the input as the client giving up. Every response
        // here ends the connection (Connection: close), so reading to the end reads one response.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        return RawResponse.Parse(received.ToArray());
    }

    private sealed record RawResponse(int Status, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
    {
        public string? Header(string name) =>
            Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

        public static RawResponse Parse(byte[] bytes)
        {
            var text = Encoding.Latin1.GetString(bytes);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            Assert.True(end > 0, $"No complete response head in: {text}");
            var lines = text[..end].Split("\r\n");
            var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            var headers = lines.Skip(1).Select(l => (l[..l.IndexOf(':', StringComparison.Ordinal)], l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())).ToList();
            var body = bytes[(end + 4)..];
            var response = new RawResponse(status, headers, body);
            return string.Equals(response.Header("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase)
                ? response with { Body = Dechunk(body) }
                : response;
        }

        private static byte[] Dechunk(byte[] chunked)
        {
            using var body = new MemoryStream();
            var position = 0;
            while (true)
            {
                var lineEnd = Array.IndexOf(chunked, (byte)'\n', position);
                var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, position, lineEnd - position).Trim().Split(';')[0], 16);
                if (size == 0)
                {
                    return body.ToArray();
                }

                body.Write(chunked, lineEnd + 1, size);
                position = lineEnd + 1 + size + 2;
            }
        }
    }
}
