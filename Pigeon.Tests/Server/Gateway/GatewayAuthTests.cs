using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Hosting;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>Every way to be refused: only the holder of an account's identity key gets its tokens and its mailbox.</summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class GatewayAuthTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Mailbox_WithoutToken_IsRefusedAsTokenMissing(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();

        using var response = await http.GetAsync("/v1/messages", Ct);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.TokenMissing);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ApiMode.Gateway, "Bearer not-a-token")]
    [InlineData(ApiMode.CoHosted, "Bearer not-a-token")]
    [InlineData(ApiMode.Gateway, "Bearer v1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.99999999999.AAAA")]
    [InlineData(ApiMode.CoHosted, "Bearer v1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.99999999999.AAAA")]
    [InlineData(ApiMode.Gateway, "Bearer v2.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData(ApiMode.CoHosted, "Bearer v2.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData(ApiMode.Gateway, "Bearer v2.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.1.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData(ApiMode.CoHosted, "Bearer v2.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.0.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData(ApiMode.Gateway, "Basic dXNlcjpwYXNz")]
    [InlineData(ApiMode.CoHosted, "Basic dXNlcjpwYXNz")]
    [InlineData(ApiMode.Gateway, "Bearer ")]
    [InlineData(ApiMode.CoHosted, "Bearer ")]
    public async Task Mailbox_WithMalformedToken_IsRefusedAsTokenInvalid(ApiMode mode, string authorization)
    {
        using var http = fixture.Api(mode).CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/messages");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await http.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.TokenInvalid);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Mailbox_WithExpiredToken_IsRefusedAsTokenExpired(ApiMode mode)
    {
        await using var gateway = fixture.StartApi(mode);
        using var http = gateway.CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        Assert.Empty((await ApiClient.ReceiveAsync(http, user, Ct)).Envelopes);

        gateway.Clock.Advance(TimeSpan.FromHours(1));
        using var request = ApiClient.Authorized(HttpMethod.Get, "/v1/messages", user);
        using var response = await http.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.TokenExpired);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Mailbox_WithTokenSignedByAnotherKey_IsRefused(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var forger = new TokenService(
            Options.Create(new AuthOptions { TokenSigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }),
            TimeProvider.System);
        user.Token = forger.Issue(user.AccountId, 1).Token;

        using var request = ApiClient.Authorized(HttpMethod.Get, "/v1/messages", user);
        using var response = await http.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.TokenInvalid);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Token_SignedWithThePreviousKey_IsStillAcceptedAfterRotation(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        await using var rotated = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{AuthOptions.Section}:PreviousTokenSigningKey"] = fixture.Api(mode).TokenSigningKey,
        });
        using var rotatedHttp = rotated.CreateClient();

        Assert.Empty((await ApiClient.ReceiveAsync(rotatedHttp, user, Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Mailbox_OfAnotherAccount_CannotBeReadOrAcknowledgedWithOwnToken(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var mallory = await ApiClient.RegisterAndLoginAsync(http);
        var messageId = Guid.NewGuid();
        await ApiClient.DepositAsync(http, alice, new OutgoingEnvelope(bob.AccountId, messageId, [7, 7, 7]));

        // Mallory's token only ever names Mallory's own mailbox.
        Assert.Empty((await ApiClient.ReceiveAsync(http, mallory, Ct)).Envelopes);
        Assert.Equal(0, await ApiClient.AckAsync(http, mallory, messageId));
        // Bob's token with Mallory's id pasted in is no longer a valid token.
        var tampered = new TestUser(bob.Identity) { Token = bob.Token!.Replace(bob.AccountId, mallory.AccountId, StringComparison.Ordinal) };
        using var request = ApiClient.Authorized(HttpMethod.Get, "/v1/messages", tampered);
        await AssertProblemAsync(await http.SendAsync(request, Ct), HttpStatusCode.Unauthorized, ProblemTypes.TokenInvalid);

        Assert.Equal(messageId, Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes).MessageId);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Challenge_AnsweredTwice_IsRefusedTheSecondTime(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var challenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));
        var answer = new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge(http, user, challenge.Challenge));

        using var first = await http.PostAsJsonAsync("/v1/auth/token", answer, PigeonJson.Options, Ct);
        using var replay = await http.PostAsJsonAsync("/v1/auth/token", answer, PigeonJson.Options, Ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await AssertProblemAsync(replay, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Challenge_AnsweredAfterItExpired_IsRefused(ApiMode mode)
    {
        await using var gateway = fixture.StartApi(mode);
        using var http = gateway.CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var challenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));

        gateway.GrainClock.Advance(TimeSpan.FromMinutes(3));
        using var response = await http.PostAsJsonAsync("/v1/auth/token",
            new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge(http, user, challenge.Challenge)), PigeonJson.Options, Ct);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Challenge_SignedForAnotherServersOrigin_IsRefused_AndStaysTheAccountsToAnswer(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var challenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));

        // What a client signed for a relay (the server it thought it talked to) that passed this server's challenge on.
        using var relayed = await http.PostAsJsonAsync("/v1/auth/token",
            new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge("https://relay.example", user.Identity, challenge.Challenge)), PigeonJson.Options, Ct);
        using var bare = await http.PostAsJsonAsync("/v1/auth/token",
            new TokenRequest(user.AccountId, challenge.Challenge, user.Identity.SignAuthChallenge(user.AccountId, challenge.Challenge)), PigeonJson.Options, Ct);
        using var answered = await http.PostAsJsonAsync("/v1/auth/token",
            new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge(http, user, challenge.Challenge)), PigeonJson.Options, Ct);

        await AssertProblemAsync(relayed, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
        await AssertProblemAsync(bare, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        // Without configured origins the server accepts the one each request names, and says so once.
        Assert.Contains(fixture.Api(mode).Logs, line => line.StartsWith("Warning", StringComparison.Ordinal)
            && line.Contains("Pigeon:Auth:Origins is not set", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Origins_WhenConfigured_AreTheOnlyOnesASignInMayBeSignedFor(ApiMode mode)
    {
        await using var server = fixture.StartApi(mode, new Dictionary<string, string?>
        {
            [$"{AuthOptions.Section}:Origins:0"] = "https://pigeon.example.com",
            [$"{AuthOptions.Section}:Origins:1"] = "https://pigeon.example.net:8443",
        });
        using var http = server.CreateClient();
        var user = await ApiClient.RegisterAsync(http);

        // The client signs for the address it sends to (http://localhost here), which is not one of the server's.
        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => ApiClient.LoginAsync(http, user));
        Assert.Equal(ProblemTypes.ChallengeFailed, refused.Type);

        foreach (var origin in new[] { "https://pigeon.example.com", "https://pigeon.example.net:8443" })
        {
            var challenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));
            using var answered = await http.PostAsJsonAsync("/v1/auth/token",
                new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge(origin, user.Identity, challenge.Challenge)), PigeonJson.Options, Ct);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        Assert.DoesNotContain(server.Logs, line => line.Contains("Pigeon:Auth:Origins is not set", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Challenge_SignedByAnotherIdentity_IsRefused_AndStaysTheAccountsToAnswerOnce(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        using var impostor = IdentityKeyPair.Generate();
        var challenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));
        var genuine = new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge(http, user, challenge.Challenge));

        using var forged = await http.PostAsJsonAsync("/v1/auth/token",
            new TokenRequest(user.AccountId, challenge.Challenge, ApiClient.SignChallenge(ChallengeBinding.OriginOf(http.BaseAddress!), impostor, challenge.Challenge)), PigeonJson.Options, Ct);
        using var answered = await http.PostAsJsonAsync("/v1/auth/token", genuine, PigeonJson.Options, Ct);
        using var replayed = await http.PostAsJsonAsync("/v1/auth/token", genuine, PigeonJson.Options, Ct);

        // Someone who saw the challenge cannot spend it: only a signature of the account's key redeems it.
        await AssertProblemAsync(forged, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        await AssertProblemAsync(replayed, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task PendingLogin_SurvivesFiftyChallengesSomeoneElseAsksForTheAccount(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        using var attacker = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var pending = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));

        for (var i = 0; i < 50; i++)
        {
            await PostAsync<ChallengeResponse>(attacker, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));
        }

        var answer = new TokenRequest(user.AccountId, pending.Challenge, ApiClient.SignChallenge(http, user, pending.Challenge));
        using var login = await http.PostAsJsonAsync("/v1/auth/token", answer, PigeonJson.Options, Ct);
        using var replay = await http.PostAsJsonAsync("/v1/auth/token", answer, PigeonJson.Options, Ct);

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        await AssertProblemAsync(replay, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Challenge_AlteredOrIssuedForAnotherAccount_IsRefusedEvenWhenSignedByTheAccount(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var other = await ApiClient.RegisterAndLoginAsync(http);
        var issued = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));
        var othersChallenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(other.AccountId));
        var altered = (byte[])issued.Challenge.Clone();
        altered[^1] ^= 1;
        var madeUp = RandomNumberGenerator.GetBytes(issued.Challenge.Length);

        foreach (var challenge in new[] { altered, madeUp, othersChallenge.Challenge })
        {
            using var response = await http.PostAsJsonAsync("/v1/auth/token",
                new TokenRequest(user.AccountId, challenge, ApiClient.SignChallenge(http, user, challenge)), PigeonJson.Options, Ct);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed);
        }

        using var genuine = await http.PostAsJsonAsync("/v1/auth/token",
            new TokenRequest(user.AccountId, issued.Challenge, ApiClient.SignChallenge(http, user, issued.Challenge)), PigeonJson.Options, Ct);
        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Registration_WithIdThatDoesNotMatchTheKeys_IsRefused(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        using var identity = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var keys = identity.PublicIdentity;

        using var response = await http.PostAsJsonAsync("/v1/accounts",
            new RegisterAccountRequest(other.AccountId, keys.SigningKey, keys.AgreementKey, keys.AgreementKeySignature), PigeonJson.Options, Ct);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.KeyMismatch);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Registration_WithAgreementKeyNotSignedByTheSigningKey_IsRefused(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        using var identity = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var keys = identity.PublicIdentity;
        // Another identity's signature: the id matches the keys, but the binding signature does not verify.
        using var response = await http.PostAsJsonAsync("/v1/accounts",
            new RegisterAccountRequest(identity.AccountId, keys.SigningKey, keys.AgreementKey, other.PublicIdentity.AgreementKeySignature), PigeonJson.Options, Ct);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.KeyMismatch);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Prekeys_WithABadSignature_AreRefusedAndNothingIsStored(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        using var impostor = IdentityKeyPair.Generate();
        var store = new PrekeyStore();
        var signedByImpostor = store.RotateSignedPrekey(impostor, DateTimeOffset.UtcNow);
        var lastResort = store.RotateLastResortMlKemPrekey(user.Identity, DateTimeOffset.UtcNow);

        using var request = ApiClient.Authorized(HttpMethod.Put, "/v1/keys", user, new UploadPrekeysRequest(
            new PrekeyDto(signedByImpostor.Id, signedByImpostor.PublicKey, signedByImpostor.Signature),
            new PrekeyDto(lastResort.Id, lastResort.PublicKey, lastResort.Signature)));
        using var response = await http.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemTypes.KeyMismatch);
        using var count = ApiClient.Authorized(HttpMethod.Get, "/v1/keys/count", user);
        var counts = await (await http.SendAsync(count, Ct)).Content.ReadFromJsonAsync<PrekeyCountsResponse>(PigeonJson.Options, Ct);
        Assert.Equal(new PrekeyCountsResponse(0, 0, false, false, null, null), counts);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Prekeys_SignedForAnotherKindOrId_AreRefused(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var user = await ApiClient.RegisterAndLoginAsync(http);
        var store = new PrekeyStore();
        var kem = store.GenerateMlKemPrekeys(user.Identity, 1)[0];

        // A one-time ML-KEM key's signature presented as the last-resort key's, and under another id.
        using var asLastResort = ApiClient.Authorized(HttpMethod.Put, "/v1/keys", user,
            new UploadPrekeysRequest(LastResortKemPrekey: new PrekeyDto(kem.Id, kem.PublicKey, kem.Signature)));
        using var otherId = ApiClient.Authorized(HttpMethod.Put, "/v1/keys", user,
            new UploadPrekeysRequest(OneTimeKemPrekeys: [new PrekeyDto(kem.Id + 1, kem.PublicKey, kem.Signature)]));

        await AssertProblemAsync(await http.SendAsync(asLastResort, Ct), HttpStatusCode.BadRequest, ProblemTypes.KeyMismatch);
        await AssertProblemAsync(await http.SendAsync(otherId, Ct), HttpStatusCode.BadRequest, ProblemTypes.KeyMismatch);
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal(type, problem.RootElement.GetProperty("type").GetString());
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
    }

    private static async Task<T> PostAsync<T>(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsync(path, JsonContent.Create(body, body.GetType(), options: PigeonJson.Options), Ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>(PigeonJson.Options, Ct))!;
    }
}
