using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// A server that lies about an account's devices (issue 16, docs/adr/0005-devices.md), over real
/// processes: it answers Bob's fetch of Alice's device list with a list it served before (a replay,
/// which would put a removed device back) or with one it changed (a device of its own added, the
/// signature altered). Bob's client refuses each (exit code 5, saying why), addresses nothing to the
/// devices it names, keeps his message queued, and delivers it once to each of Alice's real devices
/// when the server serves the real list again.
/// </summary>
public sealed class DeviceServerTrustTests
{
    private static readonly Dictionary<string, string> OneAddressForEveryone = new() { ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "100000" };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReplayedDeviceList_IsRefusedBySenders_AndTheMessageWaitsForTheRealOne()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        var (aliceId, _) = await EndToEndTests.InitContactsAsync(cli, gateway);

        // Bob learns of Alice's device 2 from the server's 409; the list served to him then is the one replayed later.
        await DeviceTests.LinkAsync(cli, gateway, "alice", "alice2");
        string? withDeviceTwo = null;
        cli.RewriteResponse = async (request, response) =>
        {
            if (IsDeviceListOf(request, aliceId))
            {
                withDeviceTwo = await response.Content.ReadAsStringAsync(Cancellation);
                return Replace(response, withDeviceTwo);
            }

            return response;
        };
        await cli.OkAsync("bob", "send", "Alice", "one");
        cli.RewriteResponse = null;
        Assert.NotNull(withDeviceTwo);
        var replayedList = JsonNode.Parse(withDeviceTwo)!;
        Assert.Equal([1u, 2u], replayedList["devices"]!.AsArray().Select(d => d!["deviceId"]!.GetValue<uint>()));

        // Device 2 is removed; Bob's next message corrects his list (410); then Alice links device 3.
        await cli.OkAsync("alice", "devices", "remove", "2");
        await cli.OkAsync("bob", "send", "Alice", "two");
        await DeviceTests.LinkAsync(cli, gateway, "alice", "alice3");

        // Bob's deposit misses device 3 (409); the server answers his fetch with the old list.
        cli.RewriteResponse = (request, response) => Task.FromResult(IsDeviceListOf(request, aliceId) ? Replace(response, withDeviceTwo) : response);
        cli.HttpBodies.Clear();
        var replayed = await cli.RunAsync("bob", "send", "Alice", "three");
        var requests = cli.HttpBodies.ToList();
        var waiting = await HistoryAsync(cli, "bob", "Alice");
        cli.RewriteResponse = null;
        var resent = await cli.RunAsync("bob", "sync", "--wait", "0");
        var sent = await HistoryAsync(cli, "bob", "Alice");
        var first = await cli.OkAsync("alice", "sync", "--wait", "0");
        var third = await cli.OkAsync("alice3", "sync", "--wait", "0");

        Assert.True(replayed.ExitCode == 5, replayed.ToString());
        Assert.Contains($"The device list the server gave for {aliceId} was refused (The device list rolls back from version ", replayed.Error, StringComparison.Ordinal);
        Assert.Contains($" to {replayedList["version"]!.GetValue<ulong>()}.); nothing was sent to it.", replayed.Error, StringComparison.Ordinal);
        AssertNothingFor(requests, aliceId, 2);
        Assert.Equal(("three", "queued"), waiting[^1]);
        Assert.True(resent.ExitCode == 0, resent.ToString());
        Assert.Equal(["one", "two", "three"], sent.Select(m => m.Body));
        Assert.DoesNotContain(sent, m => m.Status == "queued");
        Assert.Equal(1, CountOf(first, "Bob: three"));
        Assert.Equal(1, CountOf(third, "Bob: three"));
        Assert.DoesNotContain("Bob: two", third, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AForgedDeviceList_IsRefusedBySenders_AndTheMessagesWaitForTheRealOne()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        var (aliceId, _) = await EndToEndTests.InitContactsAsync(cli, gateway);
        // Bob knows Alice's list with device 1 alone; his next deposit misses device 2 (409) and he fetches the list.
        await DeviceTests.LinkAsync(cli, gateway, "alice", "alice2");

        var forgeries = new Dictionary<string, Action<JsonNode>>
        {
            // A device of the server's own, the identity's signature kept.
            ["added"] = list => list["devices"]!.AsArray().Add(new JsonObject
            {
                ["deviceId"] = 3,
                ["addedAt"] = DateTimeOffset.UtcNow,
                ["signingKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            }),
            // The real list, one bit of its signature flipped.
            ["resigned"] = list =>
            {
                var signature = Convert.FromBase64String(list["signature"]!.GetValue<string>());
                signature[7] ^= 0x10;
                list["signature"] = Convert.ToBase64String(signature);
            },
        };
        var refusals = new List<CliRun>();
        cli.HttpBodies.Clear();
        foreach (var (name, forge) in forgeries)
        {
            cli.RewriteResponse = async (request, response) =>
            {
                if (!IsDeviceListOf(request, aliceId))
                {
                    return response;
                }

                var list = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
                forge(list);
                return Replace(response, list.ToJsonString());
            };
            refusals.Add(await cli.RunAsync("bob", "send", "Alice", $"despite {name}"));
        }

        var requests = cli.HttpBodies.ToList();
        var waiting = await HistoryAsync(cli, "bob", "Alice");
        cli.RewriteResponse = null;
        var resent = await cli.RunAsync("bob", "sync", "--wait", "0");
        var sent = await HistoryAsync(cli, "bob", "Alice");
        var first = await cli.OkAsync("alice", "sync", "--wait", "0");
        var second = await cli.OkAsync("alice2", "sync", "--wait", "0");

        Assert.All(refusals, refused =>
        {
            Assert.True(refused.ExitCode == 5, refused.ToString());
            Assert.Contains($"The device list the server gave for {aliceId} was refused (The device list is not signed by the contact's identity.); nothing was sent to it.",
                refused.Error, StringComparison.Ordinal);
        });
        AssertNothingFor(requests, aliceId, 3);
        Assert.Equal([("despite added", "queued"), ("despite resigned", "queued")], waiting.TakeLast(2));
        Assert.True(resent.ExitCode == 0, resent.ToString());
        Assert.DoesNotContain(sent, m => m.Status == "queued");
        foreach (var received in new[] { first, second })
        {
            Assert.Equal(1, CountOf(received, "Bob: despite added"));
            Assert.Equal(1, CountOf(received, "Bob: despite resigned"));
        }
    }

    private static bool IsDeviceListOf(HttpRequestMessage request, string accountId) =>
        request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath == $"/v1/accounts/{accountId}/devices";

    // The server's answer with another body.
    private static HttpResponseMessage Replace(HttpResponseMessage response, string json)
    {
        var replaced = new HttpResponseMessage(response.StatusCode) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        response.Dispose();
        return replaced;
    }

    // Neither a session (its bundle) nor an envelope for the device the lying list named.
    private static void AssertNothingFor(List<string> requests, string accountId, uint deviceId)
    {
        Assert.Contains(requests, r => r.StartsWith("GET ", StringComparison.Ordinal) && r.Contains($"/v1/accounts/{accountId}/devices", StringComparison.Ordinal));
        Assert.DoesNotContain(requests, r => r.Contains($"/v1/keys/{accountId}/{deviceId}", StringComparison.Ordinal));
        Assert.DoesNotContain(requests, r => r.StartsWith("POST ", StringComparison.Ordinal) && r.Contains("/v1/messages", StringComparison.Ordinal)
            && r.Contains($"\"deviceId\":{deviceId}", StringComparison.Ordinal));
    }

    private static async Task<List<(string? Body, string Status)>> HistoryAsync(CliHarness cli, string profile, string contact) =>
        [.. JsonDocument.Parse(await cli.OkAsync(profile, "--json", "history", contact)).RootElement.EnumerateArray()
            .Where(e => e.GetProperty("kind").GetString() == "text")
            .Select(e => (e.TryGetProperty("body", out var body) ? body.GetString() : null, e.GetProperty("status").GetString()!))];

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
