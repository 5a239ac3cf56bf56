using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Apis;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Grains.Abstractions.Provisioning;

namespace Pigeon.Gateway.Provisioning;

/// <summary>
/// Provisioning slots (issue 16): a device being linked opens a slot and waits on it without a token;
/// an existing device, signed in, puts one message there (ciphertext for a key only the new device
/// holds), which the new device takes once. A slot lives in a silo's memory for
/// <see cref="ProvisioningOptions.SlotLifetime"/>; one lost with its silo is gone, and the user links
/// again. Payloads are never logged.
/// </summary>
public static class ProvisioningApi
{
    /// <summary>Maps <c>POST /v1/provisioning</c>, <c>PUT /v1/provisioning/{slotId}</c> and <c>GET /v1/provisioning/{slotId}</c>.</summary>
    public static IEndpointRouteBuilder MapProvisioningApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/provisioning").WithTags("Provisioning");
        group.MapPost("", OpenAsync).AllowAnonymous().RequireRateLimiting(RateLimits.Anonymous)
            .WithSummary("Open a provisioning slot for a device being linked; it expires in minutes.");
        group.MapPut("/{slotId:guid}", PutAsync).RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Put the encrypted provisioning message in a new device's slot, once.");
        group.MapGet("/{slotId:guid}", TakeAsync).AllowAnonymous().RequireRateLimiting(RateLimits.Anonymous)
            .WithSummary("Long-poll a slot for its message; taking it spends the slot (204 when the wait ends empty).");
        return app;
    }

    /// <summary>Opens a slot with a random 128-bit id.</summary>
    public static async Task<Results<Created<ProvisioningSlotResponse>, ProblemHttpResult>> OpenAsync(
        IGrainFactory grains, IOptions<ProvisioningOptions> options)
    {
        // An id drawn twice is all but impossible; a second draw makes it certain.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var slotId = new Guid(RandomNumberGenerator.GetBytes(16));
            var slot = await grains.GetGrain<IProvisioningGrain>(slotId).OpenAsync(options.Value.SlotLifetime);
            if (slot.Opened)
            {
                return TypedResults.Created($"/v1/provisioning/{slotId:D}", new ProvisioningSlotResponse(slotId, slot.ExpiresAt));
            }
        }

        return Problems.Of(StatusCodes.Status503ServiceUnavailable, ProblemTypes.Unavailable, "No slot could be opened; try again.");
    }

    /// <summary>Puts the message in an open slot: 204, 409 when it holds one already, 404 when unknown or expired.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> PutAsync(
        Guid slotId, ProvisioningMessage request, ClaimsPrincipal user, IGrainFactory grains, GrainReferences references, GrainCallFailover failover,
        CancellationToken aborted)
    {
        if (request.Payload.Length == 0)
        {
            return Problems.BadRequest("payload must not be empty.");
        }

        if (request.Payload.Length > ApiLimits.MaxProvisioningBytes)
        {
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, ProblemTypes.BodyTooLarge, "The provisioning message is too large.",
                $"payload may be at most {ApiLimits.MaxProvisioningBytes} bytes.");
        }

        // A removed device links nothing more.
        await MessagesApi.EnsureDeviceActiveAsync(user, references, failover, aborted);
        return await grains.GetGrain<IProvisioningGrain>(slotId).PutAsync(request.Payload) switch
        {
            ProvisioningOutcome.Stored => TypedResults.NoContent(),
            ProvisioningOutcome.Used => Problems.Of(StatusCodes.Status409Conflict, ProblemTypes.ProvisioningSlotUsed,
                "The provisioning slot already holds a message.", "A slot is single-use; the new device opens another."),
            _ => NotFound(),
        };
    }

    /// <summary>
    /// Takes the slot's message, waiting up to <paramref name="wait"/> seconds for one to be put:
    /// 200 and the slot is spent, 204 when the wait ends empty, 404 when unknown, expired or spent.
    /// Closing the request ends the wait.
    /// </summary>
    public static async Task<Results<Ok<ProvisioningMessage>, NoContent, ProblemHttpResult>> TakeAsync(
        Guid slotId, IGrainFactory grains, IOptions<LimitsOptions> limits, HttpContext httpContext, int wait = 0)
    {
        if (wait < 0 || wait > limits.Value.MaxWaitSeconds)
        {
            return Problems.BadRequest($"wait must be between 0 and {limits.Value.MaxWaitSeconds} seconds.");
        }

        // Not sent again after a silo loss: a take spends the slot, and the slot went with the silo anyway.
        var taken = await grains.GetGrain<IProvisioningGrain>(slotId).TakeAsync(TimeSpan.FromSeconds(wait), httpContext.RequestAborted);
        return taken.Outcome switch
        {
            ProvisioningOutcome.Taken => TypedResults.Ok(new ProvisioningMessage(taken.Payload!)),
            ProvisioningOutcome.Empty => TypedResults.NoContent(),
            _ => NotFound(),
        };
    }

    private static ProblemHttpResult NotFound() =>
        Problems.Of(StatusCodes.Status404NotFound, ProblemTypes.NotFound, "No such provisioning slot.", "The slot is unknown, expired or already taken.");
}
