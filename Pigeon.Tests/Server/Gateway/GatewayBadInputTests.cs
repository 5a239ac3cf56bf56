using System.Net;
using System.Net.Http.Json;
using System.Text;
using Pigeon.Api;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// Bad input of every kind, at every endpoint, gets a 4xx ProblemDetails that says what was wrong,
/// never a 5xx or a stack trace, and leaves what was stored before intact. The JSON rules of
/// Pigeon.Api hold at the running gateway: unknown members, nulls, missing members and members named
/// twice are refused.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class GatewayBadInputTests(PigeonClusterFixture fixture)
{
    private const string Unknown = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string Json = "application/json";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>(mode, name, method, path, body, content type, send the token, expected status): every case in both modes.</summary>
    public static TheoryData<ApiMode, string, string, string, string?, string, bool, int> Cases()
    {
        var cases = new TheoryData<ApiMode, string, string, string, string?, string, bool, int>();
        foreach (var mode in new[] { ApiMode.Gateway, ApiMode.CoHosted })
        {
            foreach (var row in CaseRows())
            {
                var data = ((ITheoryDataRow)row).GetData();
                cases.Add(mode, (string)data[0]!, (string)data[1]!, (string)data[2]!, (string?)data[3], (string)data[4]!, (bool)data[5]!, (int)data[6]!);
            }
        }

        return cases;
    }

    /// <summary>(name, method, path, body, content type, send the token, expected status).</summary>
    private static TheoryData<string, string, string, string?, string, bool, int> CaseRows()
    {
        var key32 = Convert.ToBase64String(new byte[ApiLimits.PublicKeyBytes]);
        var sig64 = Convert.ToBase64String(new byte[ApiLimits.SignatureBytes]);
        var payload = Convert.ToBase64String(new byte[16]);
        var oversizedPayload = Convert.ToBase64String(new byte[ApiLimits.MaxEnvelopeBytes + 1]);
        string Envelope(string recipient = "{bob}", string messageId = "\"3f2a0c1e-0000-4000-8000-000000000001\"", string body = "\"" + "AAAA" + "\"") =>
            $$"""{"recipient":"{{recipient}}","messageId":{{messageId}},"payload":{{body}}}""";
        var tooManyEnvelopes = string.Join(',', Enumerable.Range(0, ApiLimits.MaxDepositBatch + 1).Select(i => $$"""{"recipient":"{bob}","messageId":"{{Guid.NewGuid()}}","payload":"{{payload}}"}"""));
        var tooManyIds = string.Join(',', Enumerable.Range(0, ApiLimits.MaxAckBatch + 1).Select(_ => $"\"{Guid.NewGuid()}\""));
        var tooManyAcks = string.Concat(Enumerable.Range(0, ApiLimits.MaxReceiveBatch).Select(_ => $"&ack={Guid.NewGuid()}"));
        var tooManyPrekeys = string.Join(',', Enumerable.Range(0, ApiLimits.MaxPrekeysPerUpload + 1).Select(i => $$"""{"id":{{i}},"publicKey":"{{key32}}"}"""));

        return new TheoryData<string, string, string, string?, string, bool, int>
        {
            { "register: malformed JSON", "POST", "/v1/accounts", "{\"accountId\":", Json, false, 400 },
            { "register: not JSON at all", "POST", "/v1/accounts", "hello", Json, false, 400 },
            { "register: wrong content type", "POST", "/v1/accounts", "{}", "text/plain", false, 415 },
            { "register: missing fields", "POST", "/v1/accounts", "{}", Json, false, 400 },
            { "register: wrong types", "POST", "/v1/accounts", $$"""{"accountId":5,"signingKey":"{{key32}}","agreementKey":"{{key32}}","agreementKeySignature":"{{sig64}}"}""", Json, false, 400 },
            { "register: bad base64", "POST", "/v1/accounts", $$"""{"accountId":"{{Unknown}}","signingKey":"not*base64","agreementKey":"{{key32}}","agreementKeySignature":"{{sig64}}"}""", Json, false, 400 },
            { "register: null key", "POST", "/v1/accounts", $$"""{"accountId":"{{Unknown}}","signingKey":null,"agreementKey":"{{key32}}","agreementKeySignature":"{{sig64}}"}""", Json, false, 400 },
            { "register: unknown member", "POST", "/v1/accounts", $$"""{"accountId":"{{Unknown}}","signingKey":"{{key32}}","agreementKey":"{{key32}}","agreementKeySignature":"{{sig64}}","admin":true}""", Json, false, 400 },
            { "register: short key", "POST", "/v1/accounts", $$"""{"accountId":"{{Unknown}}","signingKey":"AAAA","agreementKey":"{{key32}}","agreementKeySignature":"{{sig64}}"}""", Json, false, 400 },
            { "register: malformed id", "POST", "/v1/accounts", $$"""{"accountId":"../../etc","signingKey":"{{key32}}","agreementKey":"{{key32}}","agreementKeySignature":"{{sig64}}"}""", Json, false, 400 },
            { "challenge: malformed id", "POST", "/v1/auth/challenge", """{"accountId":"UPPER"}""", Json, false, 400 },
            { "challenge: unknown account", "POST", "/v1/auth/challenge", $$"""{"accountId":"{{Unknown}}"}""", Json, false, 404 },
            { "challenge: unknown member", "POST", "/v1/auth/challenge", """{"accountId":"{bob}","admin":true}""", Json, false, 400 },
            { "challenge: null id", "POST", "/v1/auth/challenge", """{"accountId":null}""", Json, false, 400 },
            { "challenge: id named twice", "POST", "/v1/auth/challenge", """{"accountId":"{bob}","accountId":"{bob}"}""", Json, false, 400 },
            { "challenge: array body", "POST", "/v1/auth/challenge", "[]", Json, false, 400 },
            { "token: short signature", "POST", "/v1/auth/token", $$"""{"accountId":"{bob}","challenge":"{{key32}}","signature":"AAAA"}""", Json, false, 400 },
            { "token: missing signature", "POST", "/v1/auth/token", $$"""{"accountId":"{bob}","challenge":"{{key32}}"}""", Json, false, 400 },
            { "token: signature named twice", "POST", "/v1/auth/token", $$"""{"accountId":"{bob}","challenge":"{{key32}}","signature":"{{sig64}}","signature":"{{sig64}}"}""", Json, false, 400 },
            { "token: never issued", "POST", "/v1/auth/token", $$"""{"accountId":"{bob}","challenge":"{{key32}}","signature":"{{sig64}}"}""", Json, false, 401 },
            { "token: unknown account", "POST", "/v1/auth/token", $$"""{"accountId":"{{Unknown}}","challenge":"{{key32}}","signature":"{{sig64}}"}""", Json, false, 401 },
            { "keys: malformed JSON", "PUT", "/v1/keys", "{", Json, true, 400 },
            { "keys: wrong id type", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[{"id":"one","publicKey":"{{key32}}"}]}""", Json, true, 400 },
            { "keys: negative id", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[{"id":-1,"publicKey":"{{key32}}"}]}""", Json, true, 400 },
            { "keys: wrong key length", "PUT", "/v1/keys", """{"oneTimePrekeys":[{"id":1,"publicKey":"AAAA"}]}""", Json, true, 400 },
            { "keys: signature on an unsigned kind", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[{"id":1,"publicKey":"{{key32}}","signature":"{{sig64}}"}]}""", Json, true, 400 },
            { "keys: null one-time prekey", "PUT", "/v1/keys", """{"oneTimePrekeys":[null]}""", Json, true, 400 },
            { "keys: null one-time ML-KEM prekey", "PUT", "/v1/keys", """{"oneTimeKemPrekeys":[null]}""", Json, true, 400 },
            { "keys: prekey without id", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[{"publicKey":"{{key32}}"}]}""", Json, true, 400 },
            { "keys: null public key", "PUT", "/v1/keys", """{"oneTimePrekeys":[{"id":1,"publicKey":null}]}""", Json, true, 400 },
            { "keys: unknown member in a prekey", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[{"id":1,"publicKey":"{{key32}}","kind":"x"}]}""", Json, true, 400 },
            { "keys: list named twice", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[],"oneTimePrekeys":[{"id":1,"publicKey":"{{key32}}"}]}""", Json, true, 400 },
            { "keys: too many in one upload", "PUT", "/v1/keys", $$"""{"oneTimePrekeys":[{{tooManyPrekeys}}]}""", Json, true, 400 },
            { "keys: without token", "PUT", "/v1/keys", "{}", Json, false, 401 },
            { "bundle: malformed id", "GET", "/v1/keys/NOT-AN-ID/1", null, Json, true, 400 },
            { "bundle: unknown account", "GET", $"/v1/keys/{Unknown}/1", null, Json, true, 404 },
            { "bundle: no prekeys yet", "GET", "/v1/keys/{bob}/1", null, Json, true, 409 },
            { "bundle: device 0", "GET", "/v1/keys/{bob}/0", null, Json, true, 400 },
            { "bundle: a device never listed", "GET", "/v1/keys/{bob}/7", null, Json, true, 409 },
            { "bundle: the route without a device is gone", "GET", "/v1/keys/{bob}", null, Json, true, 404 },
            { "deposit: malformed JSON", "POST", "/v1/messages", "{\"envelopes\":[", Json, true, 400 },
            { "deposit: missing envelopes", "POST", "/v1/messages", "{}", Json, true, 400 },
            { "deposit: empty batch", "POST", "/v1/messages", """{"envelopes":[]}""", Json, true, 400 },
            { "deposit: null envelope", "POST", "/v1/messages", """{"envelopes":[null]}""", Json, true, 400 },
            { "deposit: null envelopes", "POST", "/v1/messages", """{"envelopes":null}""", Json, true, 400 },
            { "deposit: envelope without payload", "POST", "/v1/messages", """{"envelopes":[{"recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000001"}]}""", Json, true, 400 },
            { "deposit: null payload", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(body: "null")}}]}""", Json, true, 400 },
            { "deposit: unknown member in an envelope", "POST", "/v1/messages", """{"envelopes":[{"recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA","sender":"x"}]}""", Json, true, 400 },
            { "deposit: recipient named twice", "POST", "/v1/messages", """{"envelopes":[{"recipient":"{bob}","recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000001","payload":"AAAA"}]}""", Json, true, 400 },
            { "deposit: bad base64 payload", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(body: "\"%%%\"")}}]}""", Json, true, 400 },
            { "deposit: empty payload", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(body: "\"\"")}}]}""", Json, true, 400 },
            { "deposit: message id not a GUID", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "\"seven\"")}}]}""", Json, true, 400 },
            { "deposit: message id a number", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "7")}}]}""", Json, true, 400 },
            { "deposit: empty message id", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "\"00000000-0000-0000-0000-000000000000\"")}}]}""", Json, true, 400 },
            { "deposit: malformed recipient", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(recipient: "bob")}}]}""", Json, true, 400 },
            { "deposit: unknown recipient", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(recipient: Unknown)}}]}""", Json, true, 404 },
            { "deposit: oversized envelope", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(body: "\"" + oversizedPayload + "\"")}}]}""", Json, true, 400 },
            { "deposit: a good envelope beside a null one", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "\"3f2a0c1e-0000-4000-8000-000000000002\"")}},null]}""", Json, true, 400 },
            { "deposit: a good envelope beside an empty payload", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "\"3f2a0c1e-0000-4000-8000-000000000003\"")}},{{Envelope(body: "\"\"")}}]}""", Json, true, 400 },
            { "deposit: a good envelope beside an unknown recipient", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "\"3f2a0c1e-0000-4000-8000-000000000004\"")}},{{Envelope(recipient: Unknown)}}]}""", Json, true, 404 },
            { "deposit: device 0", "POST", "/v1/messages", """{"envelopes":[{"recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000005","payload":"AAAA","deviceId":0}]}""", Json, true, 400 },
            { "deposit: one envelope twice", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope(messageId: "\"3f2a0c1e-0000-4000-8000-000000000006\"")}},{{Envelope(messageId: "\"3f2a0c1e-0000-4000-8000-000000000006\"")}}]}""", Json, true, 400 },
            { "deposit: a device the recipient never had", "POST", "/v1/messages", """{"envelopes":[{"recipient":"{bob}","messageId":"3f2a0c1e-0000-4000-8000-000000000007","payload":"AAAA","deviceId":2}]}""", Json, true, 409 },
            { "provisioning: unknown slot", "GET", $"/v1/provisioning/{Guid.NewGuid()}", null, Json, false, 404 },
            { "provisioning: slot id not a GUID", "GET", "/v1/provisioning/seven", null, Json, false, 404 },
            { "provisioning: wait too long", "GET", $"/v1/provisioning/{Guid.NewGuid()}?wait=26", null, Json, false, 400 },
            { "provisioning: put to an unknown slot", "PUT", $"/v1/provisioning/{Guid.NewGuid()}", """{"payload":"AAAA"}""", Json, true, 404 },
            { "provisioning: empty payload", "PUT", $"/v1/provisioning/{Guid.NewGuid()}", """{"payload":""}""", Json, true, 400 },
            { "provisioning: null payload", "PUT", $"/v1/provisioning/{Guid.NewGuid()}", """{"payload":null}""", Json, true, 400 },
            { "provisioning: put without token", "PUT", $"/v1/provisioning/{Guid.NewGuid()}", """{"payload":"AAAA"}""", Json, false, 401 },
            { "deposit: batch too large", "POST", "/v1/messages", $$"""{"envelopes":[{{tooManyEnvelopes}}]}""", Json, true, 400 },
            { "deposit: body too large", "POST", "/v1/messages", "{\"envelopes\":[\"" + new string('A', (2 * 1024 * 1024) + 1) + "\"]}", Json, true, 413 },
            { "deposit: without token", "POST", "/v1/messages", $$"""{"envelopes":[{{Envelope()}}]}""", Json, false, 401 },
            { "receive: negative wait", "GET", "/v1/messages?wait=-1", null, Json, true, 400 },
            { "receive: wait too long", "GET", "/v1/messages?wait=26", null, Json, true, 400 },
            { "receive: huge wait", "GET", "/v1/messages?wait=99999999999999", null, Json, true, 400 },
            { "receive: wait not a number", "GET", "/v1/messages?wait=soon", null, Json, true, 400 },
            { "receive: negative after", "GET", "/v1/messages?after=-5", null, Json, true, 400 },
            { "receive: huge after", "GET", "/v1/messages?after=99999999999999999999999", null, Json, true, 400 },
            { "receive: max zero", "GET", "/v1/messages?max=0", null, Json, true, 400 },
            { "receive: max too large", "GET", "/v1/messages?max=100000", null, Json, true, 400 },
            { "receive: ack not a GUID", "GET", "/v1/messages?ack=seven", null, Json, true, 400 },
            { "receive: ack a number", "GET", "/v1/messages?ack=7", null, Json, true, 400 },
            { "receive: ack without a value", "GET", "/v1/messages?ack=", null, Json, true, 400 },
            { "receive: stored id beside a malformed ack", "GET", "/v1/messages?ack={stored}&ack=%00", null, Json, true, 400 },
            { "receive: stored id beside the empty GUID", "GET", "/v1/messages?ack={stored}&ack=00000000-0000-0000-0000-000000000000", null, Json, true, 400 },
            { "receive: stored id and a batch more of acks", "GET", "/v1/messages?ack={stored}" + tooManyAcks, null, Json, true, 400 },
            { "receive: stored id acked with a bad wait", "GET", "/v1/messages?wait=soon&ack={stored}", null, Json, true, 400 },
            { "receive: stored id acked without token", "GET", "/v1/messages?ack={stored}", null, Json, false, 401 },
            { "ack: malformed JSON", "POST", "/v1/messages/ack", "{\"messageIds\":", Json, true, 400 },
            { "ack: empty list", "POST", "/v1/messages/ack", """{"messageIds":[]}""", Json, true, 400 },
            { "ack: missing ids", "POST", "/v1/messages/ack", "{}", Json, true, 400 },
            { "ack: null ids", "POST", "/v1/messages/ack", """{"messageIds":null}""", Json, true, 400 },
            { "ack: unknown member", "POST", "/v1/messages/ack", """{"messageIds":["{stored}"],"all":true}""", Json, true, 400 },
            { "ack: ids named twice", "POST", "/v1/messages/ack", """{"messageIds":["{stored}"],"messageIds":["{stored}"]}""", Json, true, 400 },
            { "ack: not GUIDs", "POST", "/v1/messages/ack", """{"messageIds":["a","b"]}""", Json, true, 400 },
            { "ack: too many ids", "POST", "/v1/messages/ack", $$"""{"messageIds":[{{tooManyIds}}]}""", Json, true, 400 },
            { "ack: without token", "POST", "/v1/messages/ack", """{"messageIds":[]}""", Json, false, 401 },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Gateway_BadInput_GetsA4xxProblemAndLeavesStoredEnvelopesIntact(
        ApiMode mode, string name, string method, string path, string? body, string contentType, bool authenticated, int status)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var stored = new OutgoingEnvelope(bob.AccountId, Guid.NewGuid(), [1, 2, 3, 4]);
        await ApiClient.DepositAsync(http, alice, stored);

        using var request = new HttpRequestMessage(new HttpMethod(method),
            path.Replace("{bob}", bob.AccountId, StringComparison.Ordinal).Replace("{stored}", stored.MessageId.ToString(), StringComparison.Ordinal));
        if (body is not null)
        {
            request.Content = new StringContent(
                body.Replace("{bob}", bob.AccountId, StringComparison.Ordinal).Replace("{stored}", stored.MessageId.ToString(), StringComparison.Ordinal), Encoding.UTF8, contentType);
        }

        if (authenticated)
        {
            request.Headers.Authorization = new("Bearer", bob.Token);
        }

        using var response = await http.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(status == (int)response.StatusCode, $"{name}: expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = System.Text.Json.JsonDocument.Parse(text);
        Assert.StartsWith("urn:pigeon:problem:", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);

        var after = await ApiClient.ReceiveAsync(http, bob, Ct);
        var envelope = Assert.Single(after.Envelopes);
        Assert.Equal(stored.MessageId, envelope.MessageId);
        Assert.Equal(stored.Payload, envelope.Payload);
    }

    [Theory]
    [InlineData(ApiMode.Gateway, "oneTimePrekeys")]
    [InlineData(ApiMode.CoHosted, "oneTimePrekeys")]
    [InlineData(ApiMode.Gateway, "oneTimeKemPrekeys")]
    [InlineData(ApiMode.CoHosted, "oneTimeKemPrekeys")]
    public async Task Gateway_PrekeyUploadWithANullItem_IsRefusedAndStoresNothingOfIt(ApiMode mode, string list)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var before = await ApiClient.UploadPrekeysAsync(http, bob, oneTimeCount: 2);
        var store = new Pigeon.Protocol.Prekeys.PrekeyStore();
        var signed = store.RotateSignedPrekey(bob.Identity, DateTimeOffset.UtcNow);
        // Ids past the two already uploaded, so that storing them would change the counts.
        var oneTime = store.GenerateOneTimePrekeys(3).Last();
        var kem = store.GenerateMlKemPrekeys(bob.Identity, 3).Last();
        var node = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(new UploadPrekeysRequest(
            new PrekeyDto(signed.Id, signed.PublicKey, signed.Signature),
            OneTimePrekeys: [new PrekeyDto(oneTime.Id, oneTime.PublicKey)],
            OneTimeKemPrekeys: [new PrekeyDto(kem.Id, kem.PublicKey, kem.Signature)]), PigeonJson.Options))!;
        node[list]!.AsArray().Add(null);

        using var request = ApiClient.Authorized(HttpMethod.Put, "/v1/keys", bob);
        request.Content = new StringContent(node.ToJsonString(), Encoding.UTF8, Json);
        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(text.Contains($"{list}[1] must not be null", StringComparison.Ordinal), text);
        using var count = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", bob);
        using var counted = await http.SendAsync(count, Ct);
        var after = await counted.Content.ReadFromJsonAsync<PrekeyCountsResponse>(PigeonJson.Options, Ct);
        Assert.Equal(before, after);
        using var fetch = ApiClient.Authorized(HttpMethod.Get, $"/v1/keys/{bob.AccountId}/1", bob);
        using var fetched = await http.SendAsync(fetch, Ct);
        var bundle = await fetched.Content.ReadFromJsonAsync<PrekeyBundleResponse>(PigeonJson.Options, Ct);
        Assert.NotEqual(signed.PublicKey, bundle!.SignedPrekey.PublicKey);
    }

    [Theory]
    [InlineData(ApiMode.Gateway, "application/json; charset=\"utf-8\"", 200)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=\"utf-8\"", 200)]
    [InlineData(ApiMode.Gateway, "application/json; charset=UTF-8", 200)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=UTF-8", 200)]
    [InlineData(ApiMode.Gateway, "application/json;charset=\"UTF-8\"", 200)]
    [InlineData(ApiMode.CoHosted, "application/json;charset=\"UTF-8\"", 200)]
    [InlineData(ApiMode.Gateway, "application/json; Charset=utf-8", 200)]
    [InlineData(ApiMode.CoHosted, "application/json; Charset=utf-8", 200)]
    [InlineData(ApiMode.Gateway, "application/json; charset=", 400)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=", 400)]
    [InlineData(ApiMode.Gateway, "application/json; charset=\"utf-8", 400)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=\"utf-8", 400)]
    [InlineData(ApiMode.Gateway, "application/json; charset=\"\"", 415)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=\"\"", 415)]
    [InlineData(ApiMode.Gateway, "application/json; charset=bogus", 415)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=bogus", 415)]
    [InlineData(ApiMode.Gateway, "application/json; charset=iso-8859-1", 415)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=iso-8859-1", 415)]
    [InlineData(ApiMode.Gateway, "application/json; charset=utf-16", 415)]
    [InlineData(ApiMode.CoHosted, "application/json; charset=utf-16", 415)]
    public async Task Gateway_JsonCharset_IsReadAsHttpDefinesIt(ApiMode mode, string contentType, int status)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/challenge")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"accountId":"{{bob.AccountId}}"}""")),
        };
        Assert.True(request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType));

        using var response = await http.SendAsync(request, Ct);

        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(status == (int)response.StatusCode, $"{contentType}: expected {status}, got {(int)response.StatusCode}: {text}");
        if (status != 200)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = System.Text.Json.JsonDocument.Parse(text);
            Assert.Equal(status == 415 ? ProblemTypes.UnsupportedMediaType : ProblemTypes.InvalidRequest, problem.RootElement.GetProperty("type").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Gateway_UnknownRoute_AnswersNotFound(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();

        using var response = await http.GetAsync("/v1/nothing-here", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
