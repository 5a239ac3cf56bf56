using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Mailboxes;

namespace Pigeon.Gateway.Apis;

/// <summary>
/// Sealed sender's two routes (docs/adr/0003-sealed-sender.md): an account sets its delivery key, and
/// anyone holding it deposits without a token, so the server does not learn who wrote.
/// </summary>
public static class SealedApi
{
    /// <summary>Maps <c>PUT /v1/keys/delivery</c> and <c>POST /v1/messages/sealed</c>.</summary>
    public static IEndpointRouteBuilder MapSealedApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v1/keys/delivery", SetDeliveryKeyAsync).WithTags("Keys")
            .RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Register the verifier of own new delivery key; contacts holding the old key can no longer deposit sealed envelopes.");
        app.MapPost("/v1/messages/sealed", DepositAsync).WithTags("Messages")
            .AllowAnonymous().RequireRateLimiting(RateLimits.Sealed)
            .WithSummary("Deposit sealed envelopes without a token, each authorised by its recipient's delivery key; 200 means committed.");
        return app;
    }

    /// <summary>Replaces the verifier of the caller's delivery key.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> SetDeliveryKeyAsync(
        DeliveryKeyRequest request, ClaimsPrincipal user, GrainReferences grains)
    {
        if (request.Verifier.Length != ApiLimits.DeliveryKeyVerifierBytes)
        {
            return Problems.BadRequest($"verifier must be {ApiLimits.DeliveryKeyVerifierBytes} bytes.");
        }

        await grains.Get<IAccountGrain>(user.AccountId()).SetDeliveryKeyVerifierAsync(request.Epoch, request.Verifier);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Deposits every envelope of the batch, each into the mailbox of its recipient's device, once all are
    /// well formed, every delivery key is accepted, the devices addressed for each recipient are exactly
    /// those on its list (409, 410 otherwise, and nothing is stored) and each recipient's sealed-deposit
    /// rate allows them. A wrong key and an unknown recipient get the same 401, so the route tells nothing
    /// about which accounts exist; the device check comes after it, for accounts the caller holds a key of.
    /// </summary>
    public static async Task<Results<Ok<DepositResponse>, ProblemHttpResult>> DepositAsync(
        SealedDepositRequest request, GrainReferences grains, GrainCallFailover failover, SealedDepositLimiter recipientLimits,
        IOptions<LimitsOptions> limits, ApiMetrics metrics, HttpContext httpContext, CancellationToken aborted)
    {
        var envelopes = request.Envelopes;
        if (MessagesApi.CheckBatch(envelopes, e => (e.Recipient, e.DeviceId, e.MessageId, e.Payload, e.LifetimeSeconds), limits.Value) is { } invalid)
        {
            return invalid;
        }

        for (var i = 0; i < envelopes.Count; i++)
        {
            if (envelopes[i].DeliveryKey.Length != ApiLimits.DeliveryKeyBytes)
            {
                return Problems.BadRequest($"envelopes[{i}].deliveryKey must be {ApiLimits.DeliveryKeyBytes} bytes.");
            }
        }

        // One check per distinct recipient and key, however many envelopes share them.
        var checks = envelopes
            .DistinctBy(e => (e.Recipient, Convert.ToHexString(e.DeliveryKey)))
            .Select(e => failover.RunAsync((_, _) => grains.Get<IAccountGrain>(e.Recipient).AcceptsDeliveryKeyAsync(e.DeliveryKey), aborted));
        if ((await Task.WhenAll(checks)).Contains(false))
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, ProblemTypes.DeliveryRefused,
                "A delivery key was not accepted.", "Deposit without a valid delivery key on the identified route, POST /v1/messages.");
        }

        // The route knows no sender, so every device of each list is addressed, the sender's own too.
        if (await MessagesApi.CheckDevicesAsync(envelopes, e => (e.Recipient, e.DeviceId), null, null, grains, failover, aborted) is { } mismatch)
        {
            return mismatch;
        }

        // A message counts once per recipient account, however many of its devices it goes to.
        if (recipientLimits.TryAcquire(envelopes.DistinctBy(e => (e.Recipient, e.MessageId)).Select(e => e.Recipient)) is { } retryAfter)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.RateLimited,
                "Too many sealed deposits for a recipient.", $"At most {limits.Value.SealedDepositsPerSecondPerRecipient} per second per recipient.");
        }

        // Idempotent on the message id, as on the identified route.
        var receipts = await Task.WhenAll(envelopes.Select(e =>
            failover.RunAsync((_, _) => grains.Get<IMailboxGrain>(MailboxKeys.Of(e.Recipient, e.DeviceId)).DepositAsync(e.MessageId, e.Payload, MessagesApi.Lifetime(e.LifetimeSeconds)), aborted)));
        metrics.Deposited(envelopes.Count, envelopes.Sum(e => (long)e.Payload.Length));
        return TypedResults.Ok(new DepositResponse(
            [.. envelopes.Zip(receipts, (e, r) => new DepositReceiptDto(e.Recipient, r.MessageId, r.Sequence, r.DepositedAt, e.DeviceId))]));
    }
}
