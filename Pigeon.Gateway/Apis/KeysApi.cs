using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Protocol.Identity;
using ProtocolPrekeyKind = Pigeon.Protocol.Prekeys.PrekeyKind;

namespace Pigeon.Gateway.Apis;

/// <summary>Prekey publication (own account) and bundle fetches (any account).</summary>
public static class KeysApi
{
    private const int X25519KeyBytes = ApiLimits.PublicKeyBytes;
    private const int MlKem1024KeyBytes = ApiLimits.KemPublicKeyBytes;
    private const int SignatureBytes = ApiLimits.SignatureBytes;

    /// <summary>Maps the keys routes.</summary>
    public static RouteGroupBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/keys").WithTags("Keys").RequireAuthorization().RequireRateLimiting(RateLimits.Account);
        group.MapPut("", UploadAsync).WithSummary("Publish own prekeys; signatures are checked against the identity key.");
        group.MapGet("/count", CountAsync).WithSummary("How many of own prekeys remain.");
        group.MapGet("/{accountId}", FetchBundleAsync).WithSummary("Fetch an account's prekey bundle; consumes one-time prekeys.")
            .RequireRateLimiting(RateLimits.BundleFetch);
        return group;
    }

    /// <summary>Publishes prekeys of the token's own account after checking every signature and size.</summary>
    public static async Task<Results<Ok<PrekeyCountsResponse>, ProblemHttpResult>> UploadAsync(
        UploadPrekeysRequest request, ClaimsPrincipal user, GrainReferences grains, IOptions<LimitsOptions> limits)
    {
        var accountId = user.AccountId();
        var oneTime = request.OneTimePrekeys ?? [];
        var oneTimeKem = request.OneTimeKemPrekeys ?? [];
        if (oneTime.Count > limits.Value.MaxPrekeysPerUpload || oneTimeKem.Count > limits.Value.MaxPrekeysPerUpload)
        {
            return Problems.BadRequest($"At most {limits.Value.MaxPrekeysPerUpload} one-time prekeys of each kind per upload.");
        }

        var account = grains.Get<IAccountGrain>(accountId);
        var identity = await account.GetIdentityAsync();
        if (identity is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ProblemTypes.AccountNotFound, "No account has this id.");
        }

        var problem = Check(request.SignedPrekey, "signedPrekey", X25519KeyBytes, ProtocolPrekeyKind.SignedX25519, identity)
            ?? Check(request.LastResortKemPrekey, "lastResortKemPrekey", MlKem1024KeyBytes, ProtocolPrekeyKind.MlKem1024LastResort, identity)
            ?? oneTime.Select((p, i) => CheckItem(p, $"oneTimePrekeys[{i}]", X25519KeyBytes, null, identity)).FirstOrDefault(p => p is not null)
            ?? oneTimeKem.Select((p, i) => CheckItem(p, $"oneTimeKemPrekeys[{i}]", MlKem1024KeyBytes, ProtocolPrekeyKind.MlKem1024, identity)).FirstOrDefault(p => p is not null);
        if (problem is not null)
        {
            return problem;
        }

        var counts = await account.UploadPrekeysAsync(new PrekeyUpload(
            ToPrekey(request.SignedPrekey),
            ToPrekey(request.LastResortKemPrekey),
            [.. oneTime.Select(p => ToPrekey(p)!)],
            [.. oneTimeKem.Select(p => ToPrekey(p)!)]));
        return TypedResults.Ok(ToResponse(counts));
    }

    /// <summary>How many prekeys the token's own account has left.</summary>
    public static async Task<Ok<PrekeyCountsResponse>> CountAsync(ClaimsPrincipal user, GrainReferences grains) =>
        TypedResults.Ok(ToResponse(await grains.Get<IAccountGrain>(user.AccountId()).CountPrekeysAsync()));

    /// <summary>Hands out a bundle of another account; the caller checks it against the id it knows.</summary>
    public static async Task<Results<Ok<PrekeyBundleResponse>, ProblemHttpResult>> FetchBundleAsync(string accountId, GrainReferences grains)
    {
        if (!AccountId.IsWellFormed(accountId))
        {
            return Problems.BadRequest("The account id must be 32 characters of lowercase base32.");
        }

        var bundle = await grains.Get<IAccountGrain>(accountId).FetchBundleAsync();
        return TypedResults.Ok(new PrekeyBundleResponse(
            accountId,
            new IdentityDto(bundle.Identity.SigningKey, bundle.Identity.AgreementKey, bundle.Identity.AgreementKeySignature),
            ToDto(bundle.SignedPrekey)!,
            ToDto(bundle.OneTimeX25519Prekey),
            ToDto(bundle.KemPrekey)!,
            bundle.KemPrekeyIsLastResort));
    }

    // JSON's null annotations stop at a list's items, so a null item is refused here, before anything is stored.
    private static ProblemHttpResult? CheckItem(PrekeyDto? prekey, string field, int keyBytes, ProtocolPrekeyKind? signedAs, IdentityKeys identity) =>
        prekey is null ? Problems.BadRequest($"{field} must not be null.") : Check(prekey, field, keyBytes, signedAs, identity);

    private static ProblemHttpResult? Check(PrekeyDto? prekey, string field, int keyBytes, ProtocolPrekeyKind? signedAs, IdentityKeys identity)
    {
        if (prekey is null)
        {
            return null;
        }

        if (prekey.PublicKey.Length != keyBytes)
        {
            return Problems.BadRequest($"{field}.publicKey must be {keyBytes} bytes.");
        }

        if (signedAs is not { } kind)
        {
            return prekey.Signature is null ? null : Problems.BadRequest($"{field} is not a signed kind; send no signature.");
        }

        if (prekey.Signature is not { Length: SignatureBytes } signature)
        {
            return Problems.BadRequest($"{field}.signature must be {SignatureBytes} bytes.");
        }

        return IdentitySignatures.VerifyPrekey(identity.SigningKey, kind, prekey.Id, prekey.PublicKey, signature)
            ? null
            : Problems.Of(StatusCodes.Status400BadRequest, ProblemTypes.KeyMismatch, $"The signature of {field} does not verify with the identity key.");
    }

    private static Prekey? ToPrekey(PrekeyDto? dto) => dto is null ? null : new Prekey(dto.Id, dto.PublicKey, dto.Signature);

    private static PrekeyDto? ToDto(Prekey? prekey) => prekey is null ? null : new PrekeyDto(prekey.Id, prekey.PublicKey, prekey.Signature);

    private static PrekeyCountsResponse ToResponse(PrekeyCounts counts) =>
        new(counts.OneTimeX25519, counts.OneTimeKem, counts.HasSignedPrekey, counts.HasLastResortKemPrekey,
            counts.LowestOneTimeX25519Id, counts.LowestOneTimeKemId);
}
