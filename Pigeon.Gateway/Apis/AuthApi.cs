using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Authentication;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Apis;

/// <summary>Asks for a challenge to sign.</summary>
public sealed record ChallengeRequest(string AccountId);

/// <summary>A challenge to sign with the identity key, answered at <c>POST /v1/auth/token</c>.</summary>
public sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

/// <summary>A signed challenge.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Challenge">The challenge as issued.</param>
/// <param name="Signature">The identity key's signature over the challenge (Pigeon.Protocol's auth-challenge message).</param>
public sealed record TokenRequest(string AccountId, byte[] Challenge, byte[] Signature);

/// <summary>A bearer token for <c>Authorization: Bearer</c>.</summary>
public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);

/// <summary>Ed25519 challenge–response: a single-use challenge, then a short-lived bearer token.</summary>
public static class AuthApi
{
    /// <summary>Maps the authentication routes.</summary>
    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/auth").WithTags("Authentication").RequireRateLimiting(RateLimits.Anonymous);
        group.MapPost("/challenge", ChallengeAsync).WithSummary("Get a single-use challenge for an account.");
        group.MapPost("/token", TokenAsync).WithSummary("Exchange a signed challenge for a bearer token.");
        return group;
    }

    /// <summary>Issues a challenge for a registered account.</summary>
    public static async Task<Results<Ok<ChallengeResponse>, ProblemHttpResult>> ChallengeAsync(
        ChallengeRequest request, GrainReferences grains, IOptions<AuthOptions> options)
    {
        if (!AccountId.IsWellFormed(request.AccountId))
        {
            return Problems.BadRequest("accountId must be 32 characters of lowercase base32.");
        }

        if (await grains.Get<IAccountGrain>(request.AccountId).GetIdentityAsync() is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, Problems.AccountNotFound, "No account has this id.");
        }

        var issued = await grains.Get<IAuthChallengeGrain>(request.AccountId).IssueAsync(options.Value.ChallengeLifetime);
        return TypedResults.Ok(new ChallengeResponse(issued.Challenge, issued.ExpiresAt));
    }

    /// <summary>
    /// Checks the signature with the account's registered signing key, then redeems the challenge
    /// (once, before it expires); every failure looks the same to the caller.
    /// </summary>
    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> TokenAsync(
        TokenRequest request, GrainReferences grains, TokenService tokens)
    {
        if (!AccountId.IsWellFormed(request.AccountId))
        {
            return Problems.BadRequest("accountId must be 32 characters of lowercase base32.");
        }

        if (request.Challenge.Length is 0 or > 64 || request.Signature.Length != 64)
        {
            return Problems.BadRequest("challenge must be the issued bytes and signature 64 bytes.");
        }

        var identity = await grains.Get<IAccountGrain>(request.AccountId).GetIdentityAsync();
        // Only a challenge the account's key signed is redeemed: someone who saw it cannot spend it.
        var signed = identity is not null && IdentitySignatures.VerifyAuthChallenge(identity.SigningKey, request.AccountId, request.Challenge, request.Signature);
        if (!signed || !await grains.Get<IAuthChallengeGrain>(request.AccountId).RedeemAsync(request.Challenge))
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, Problems.ChallengeFailed,
                "The challenge is unknown, used or expired, or the signature does not verify.");
        }

        var (token, expiresAt) = tokens.Issue(request.AccountId);
        GatewayMetrics.TokensIssued.Inc();
        return TypedResults.Ok(new TokenResponse(token, expiresAt));
    }
}
