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

namespace Pigeon.Gateway.Apis;

/// <summary>Prekey publication (own device) and bundle fetches (any account's devices, one at a time).</summary>
public static class KeysApi
{
    private const int X25519KeyBytes = ApiLimits.PublicKeyBytes;
    private const int MlKem1024KeyBytes = ApiLimits.KemPublicKeyBytes;
    private const int SignatureBytes = ApiLimits.SignatureBytes;

    /// <summary>Maps the keys routes.</summary>
    public static RouteGroupBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/keys").WithTags("Keys").RequireAuthorization().RequireRateLimiting(RateLimits.Account);
        group.MapPut("", UploadAsync).WithSummary("Publish own device's prekeys; the account checks their signatures against the identity key.");
        group.MapGet("/count", CountAsync).WithSummary("How many of own device's prekeys remain.");
        group.MapGet("/{accountId}/{deviceId}", FetchBundleAsync).WithSummary("Fetch the prekey bundle of one of an account's devices; consumes one-time prekeys.")
            .RequireRateLimiting(RateLimits.BundleFetch);
        return group;
    }

    /// <summary>
    /// Publishes prekeys of the token's own device after checking every size; the account grain
    /// verifies every signature with the identity key (a bad one is a 400 key-mismatch, and nothing is
    /// stored) and refuses a removed device (403).
    /// </summary>
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

        var problem = Check(request.SignedPrekey, "signedPrekey", X25519KeyBytes, signed: true)
            ?? Check(request.LastResortKemPrekey, "lastResortKemPrekey", MlKem1024KeyBytes, signed: true)
            ?? oneTime.Select((p, i) => CheckItem(p, $"oneTimePrekeys[{i}]", X25519KeyBytes, signed: false)).FirstOrDefault(p => p is not null)
            ?? oneTimeKem.Select((p, i) => CheckItem(p, $"oneTimeKemPrekeys[{i}]", MlKem1024KeyBytes, signed: true)).FirstOrDefault(p => p is not null);
        if (problem is not null)
        {
            return problem;
        }

        var counts = await grains.Get<IAccountGrain>(accountId).UploadPrekeysAsync(user.DeviceId(), new PrekeyUpload(
            ToPrekey(request.SignedPrekey),
            ToPrekey(request.LastResortKemPrekey),
            [.. oneTime.Select(p => ToPrekey(p)!)],
            [.. oneTimeKem.Select(p => ToPrekey(p)!)]));
        return TypedResults.Ok(ToResponse(counts));
    }

    /// <summary>How many prekeys the token's own device has left; a removed device is refused (403).</summary>
    public static async Task<Ok<PrekeyCountsResponse>> CountAsync(ClaimsPrincipal user, GrainReferences grains)
    {
        var account = grains.Get<IAccountGrain>(user.AccountId());
        await account.EnsureDeviceActiveAsync(user.DeviceId());
        return TypedResults.Ok(ToResponse(await account.CountPrekeysAsync(user.DeviceId())));
    }

    /// <summary>Hands out the bundle of device <paramref name="deviceId"/> of an account; the caller checks it against the id it knows.</summary>
    public static async Task<Results<Ok<PrekeyBundleResponse>, ProblemHttpResult>> FetchBundleAsync(string accountId, uint deviceId, GrainReferences grains)
    {
        if (!AccountId.IsWellFormed(accountId))
        {
            return Problems.BadRequest("The account id must be 32 characters of lowercase base32.");
        }

        if (deviceId == 0)
        {
            return Problems.BadRequest("deviceId must be above 0.");
        }

        var bundle = await grains.Get<IAccountGrain>(accountId).FetchBundleAsync(deviceId);
        return TypedResults.Ok(new PrekeyBundleResponse(
            accountId,
            new IdentityDto(bundle.Identity.SigningKey, bundle.Identity.AgreementKey, bundle.Identity.AgreementKeySignature),
            ToDto(bundle.SignedPrekey)!,
            ToDto(bundle.OneTimeX25519Prekey),
            ToDto(bundle.KemPrekey)!,
            bundle.KemPrekeyIsLastResort));
    }

    // JSON's null annotations stop at a list's items, so a null item is refused here, before anything is stored.
    private static ProblemHttpResult? CheckItem(PrekeyDto? prekey, string field, int keyBytes, bool signed) =>
        prekey is null ? Problems.BadRequest($"{field} must not be null.") : Check(prekey, field, keyBytes, signed);

    private static ProblemHttpResult? Check(PrekeyDto? prekey, string field, int keyBytes, bool signed)
    {
        if (prekey is null)
        {
            return null;
        }

        if (prekey.PublicKey.Length != keyBytes)
        {
            return Problems.BadRequest($"{field}.publicKey must be {keyBytes} bytes.");
        }

        if (!signed)
        {
            return prekey.Signature is null ? null : Problems.BadRequest($"{field} is not a signed kind; send no signature.");
        }

        return prekey.Signature is { Length: SignatureBytes } ? null : Problems.BadRequest($"{field}.signature must be {SignatureBytes} bytes.");
    }

    private static Prekey? ToPrekey(PrekeyDto? dto) => dto is null ? null : new Prekey(dto.Id, dto.PublicKey, dto.Signature);

    private static PrekeyDto? ToDto(Prekey? prekey) => prekey is null ? null : new PrekeyDto(prekey.Id, prekey.PublicKey, prekey.Signature);

    private static PrekeyCountsResponse ToResponse(PrekeyCounts counts) =>
        new(counts.OneTimeX25519, counts.OneTimeKem, counts.HasSignedPrekey, counts.HasLastResortKemPrekey,
            counts.LowestOneTimeX25519Id, counts.LowestOneTimeKemId);
}
