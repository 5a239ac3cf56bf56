using Microsoft.AspNetCore.Http.HttpResults;
using Pigeon.Api;
using Pigeon.Gateway.Accounts;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Apis;

/// <summary><c>POST /v1/accounts</c>: registration, open to anyone who holds an identity key.</summary>
public static class AccountsApi
{
    /// <summary>Maps the accounts routes.</summary>
    public static RouteGroupBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/accounts").WithTags("Accounts").RequireRateLimiting(RateLimits.Anonymous);
        group.MapPost("", RegisterAsync).WithSummary("Register an identity; idempotent for the same keys.");
        return group;
    }

    /// <summary>
    /// Registers the keys under their id. The id must derive from the keys and the agreement key must
    /// be signed by the signing key, which proves the caller holds the identity's private signing key;
    /// the account grain checks both (a 400 key-mismatch otherwise).
    /// </summary>
    public static async Task<Results<Created<AccountResponse>, Ok<AccountResponse>, ProblemHttpResult>> RegisterAsync(
        RegisterAccountRequest request, GrainReferences grains, RecipientDirectory directory, ApiMetrics metrics)
    {
        if (!AccountId.IsWellFormed(request.AccountId))
        {
            return Problems.NotAnAccountId();
        }

        if (request.SigningKey.Length != ApiLimits.PublicKeyBytes || request.AgreementKey.Length != ApiLimits.PublicKeyBytes
            || request.AgreementKeySignature.Length != ApiLimits.SignatureBytes)
        {
            return Problems.BadRequest($"signingKey and agreementKey must be {ApiLimits.PublicKeyBytes} bytes and agreementKeySignature {ApiLimits.SignatureBytes} bytes.");
        }

        var registration = await grains.Get<IAccountGrain>(request.AccountId)
            .RegisterAsync(new IdentityKeys(request.SigningKey, request.AgreementKey, request.AgreementKeySignature));
        directory.Remember(request.AccountId);
        var response = new AccountResponse(request.AccountId, registration.RegisteredAt);
        if (registration.AlreadyRegistered)
        {
            return TypedResults.Ok(response);
        }

        metrics.Registered();
        return TypedResults.Created($"/v1/keys/{request.AccountId}", response);
    }
}
