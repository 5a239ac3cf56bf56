using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Apis;

/// <summary>
/// Device lists (issue 16): an account stores the list of its devices as its identity signed it, and
/// anyone signed in reads another account's list to verify it. The account grain checks the signature
/// and that the version grows, so the server cannot add a device (docs/security.md).
/// </summary>
public static class DevicesApi
{
    /// <summary>Maps <c>PUT /v1/devices</c> and <c>GET /v1/accounts/{accountId}/devices</c>.</summary>
    public static IEndpointRouteBuilder MapDevicesApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v1/devices", SetAsync).WithTags("Devices")
            .RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Store own device list, signed by the account's identity; its version must grow.");
        app.MapGet("/v1/accounts/{accountId}/devices", GetAsync).WithTags("Devices")
            .RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Another account's signed device list, as stored (verify it against the account's identity).");
        return app;
    }

    /// <summary>
    /// Stores the caller's device list after the account grain checked it; a device it leaves out is
    /// removed (its mailbox and prekeys deleted, its tokens refused from the next request on).
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> SetAsync(DeviceListRecord request, ClaimsPrincipal user, GrainReferences grains)
    {
        if (request.Signature.Length != ApiLimits.SignatureBytes)
        {
            return Problems.BadRequest($"signature must be {ApiLimits.SignatureBytes} bytes.");
        }

        if (request.Devices.Any(d => d is null))
        {
            return Problems.BadRequest("devices must not contain null items.");
        }

        if (request.Devices.Select((d, i) => (d, i)).FirstOrDefault(x => x.d.SigningKey is not { Length: ApiLimits.PublicKeyBytes }) is { d: not null } bad)
        {
            return Problems.BadRequest($"devices[{bad.i}].signingKey must be {ApiLimits.PublicKeyBytes} bytes.");
        }

        await grains.Get<IAccountGrain>(user.AccountId()).SetDeviceListAsync(
            new SignedDeviceList(request.Version, [.. request.Devices.Select(d => new DeviceSlot(d.DeviceId, d.AddedAt, d.SigningKey))], request.Signature));
        return TypedResults.NoContent();
    }

    /// <summary>An account's stored device list; 404 for an unknown account or one without a list.</summary>
    public static async Task<Results<Ok<DeviceListRecord>, ProblemHttpResult>> GetAsync(string accountId, GrainReferences grains)
    {
        if (!AccountId.IsWellFormed(accountId))
        {
            return Problems.NotAnAccountId();
        }

        var list = await grains.Get<IAccountGrain>(accountId).GetDeviceListAsync();
        return list is null
            ? Problems.Of(StatusCodes.Status404NotFound, ProblemTypes.NotFound, "The account has published no device list.")
            : TypedResults.Ok(new DeviceListRecord(list.Version, [.. list.Devices.Select(d => new DeviceRecord(d.DeviceId, d.AddedAt, d.SigningKey))], list.Signature));
    }
}
