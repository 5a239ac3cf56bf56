using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Authentication;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Apis;

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
            return Problems.NotAnAccountId();
        }

        if (await grains.Get<IAccountGrain>(request.AccountId).GetIdentityAsync() is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ProblemTypes.AccountNotFound, "No account has this id.");
        }

        var issued = await grains.Get<IAuthChallengeGrain>(request.AccountId).IssueAsync(options.Value.ChallengeLifetime);
        return TypedResults.Ok(new ChallengeResponse(issued.Challenge, issued.ExpiresAt));
    }

    /// <summary>
    /// Checks the signature over the challenge bound to one of this server's origins
    /// (<see cref="AuthOptions.Origins"/>), then redeems the challenge (once, before it expires) and
    /// issues a token for the device. The key that must have signed: the device's own, as the account's
    /// stored device list names it; before the account stored a list, only device 1 signs in, with the
    /// identity key. Once a list exists the identity key signs in no device. A device the account
    /// removed is a 403 (device-removed); every other failure, a device never on a list included,
    /// looks the same to the caller (401).
    /// </summary>
    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> TokenAsync(
        TokenRequest request, GrainReferences grains, TokenService tokens, ApiMetrics metrics, IOptions<AuthOptions> options, HttpContext httpContext)
    {
        if (!AccountId.IsWellFormed(request.AccountId))
        {
            return Problems.NotAnAccountId();
        }

        if (request.Challenge.Length is 0 or > 64 || request.Signature.Length != ApiLimits.SignatureBytes)
        {
            return Problems.BadRequest($"challenge must be the issued bytes and signature {ApiLimits.SignatureBytes} bytes.");
        }

        if (request.DeviceId == 0)
        {
            return Problems.BadRequest("deviceId must be above 0.");
        }

        var signIn = await grains.Get<IAccountGrain>(request.AccountId).GetDeviceSignInAsync(request.DeviceId);
        if (signIn?.Standing == DeviceStanding.Removed)
        {
            return Problems.Of(StatusCodes.Status403Forbidden, ProblemTypes.DeviceRemoved,
                "The device was removed from its account.", "A removed device cannot sign in again; link it anew, as a new device.");
        }

        // Only a challenge the device's key signed is redeemed: someone who saw it cannot spend it.
        var signed = signIn is { Standing: DeviceStanding.Active } && Origins(options.Value, httpContext.Request).Any(origin =>
        {
            var bound = ChallengeBinding.Bind(origin, request.Challenge);
            return signIn.SigningKey is { } deviceKey
                ? DeviceKeyPair.VerifyAuthChallenge(deviceKey, request.AccountId, request.DeviceId, bound, request.Signature)
                : request.DeviceId == 1 && IdentitySignatures.VerifyAuthChallenge(signIn.Identity.SigningKey, request.AccountId, bound, request.Signature);
        });
        if (!signed || !await grains.Get<IAuthChallengeGrain>(request.AccountId).RedeemAsync(request.Challenge))
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, ProblemTypes.ChallengeFailed,
                "The challenge is unknown, used or expired, or the signature does not verify.");
        }

        var (token, expiresAt) = tokens.Issue(request.AccountId, request.DeviceId);
        metrics.TokenIssued();
        return TypedResults.Ok(new TokenResponse(token, expiresAt));
    }

    // Configured, the origins are fixed; otherwise the one this request names (after trusted proxies).
    private static IEnumerable<string> Origins(AuthOptions options, HttpRequest request) =>
        options.Origins.Count > 0
            ? options.Origins.Select(origin => ChallengeBinding.TryOriginOf(origin)!)
            : ChallengeBinding.TryOriginOf($"{request.Scheme}://{request.Host.Value}") is { } own ? [own] : [];
}
