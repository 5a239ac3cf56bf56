using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Gateway.Accounts;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Apis;

/// <summary>One envelope to deposit.</summary>
/// <param name="Recipient">The recipient's account id.</param>
/// <param name="MessageId">A client-chosen id, unique per message: a retry with the same id stores nothing new.</param>
/// <param name="Payload">The ciphertext (base64).</param>
public sealed record OutgoingEnvelope(string Recipient, Guid MessageId, byte[] Payload);

/// <summary>Envelopes to deposit, each into its recipient's mailbox.</summary>
public sealed record DepositRequest(IReadOnlyList<OutgoingEnvelope> Envelopes);

/// <summary>Proof that an envelope is durably stored.</summary>
public sealed record DepositReceiptDto(string Recipient, Guid MessageId, long Sequence, DateTimeOffset DepositedAt);

/// <summary>The receipts, in request order. A 200 means every envelope is committed.</summary>
public sealed record DepositResponse(IReadOnlyList<DepositReceiptDto> Receipts);

/// <summary>An envelope for the caller.</summary>
public sealed record IncomingEnvelope(Guid MessageId, long Sequence, byte[] Payload, DateTimeOffset DepositedAt);

/// <summary>Envelopes oldest first; empty when the wait ended with nothing new.</summary>
/// <param name="Envelopes">The envelopes, oldest first.</param>
/// <param name="HasMore">True when more envelopes were pending than <c>max</c> allowed.</param>
/// <param name="Acknowledged">How many of the ids in the request's <c>ack</c> were deleted before receiving (0 without <c>ack</c>).</param>
public sealed record ReceiveResponse(IReadOnlyList<IncomingEnvelope> Envelopes, bool HasMore, int Acknowledged);

/// <summary>Message ids to acknowledge (delete).</summary>
public sealed record AckRequest(IReadOnlyList<Guid> MessageIds);

/// <summary>How many envelopes the acknowledgement deleted.</summary>
public sealed record AckResponse(int Acknowledged);

/// <summary>Deposits to anyone; long-poll receive and acknowledgement of the caller's own mailbox.</summary>
public static class MessagesApi
{
    /// <summary>Maps the messages routes.</summary>
    public static RouteGroupBuilder MapMessagesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/messages").WithTags("Messages").RequireAuthorization().RequireRateLimiting(RateLimits.Account);
        group.MapPost("", DepositAsync).WithSummary("Deposit envelopes; 200 means committed.");
        group.MapGet("", ReceiveAsync)
            .WithSummary("Long-poll own mailbox for envelopes after a sequence number; ids in ack are deleted first.")
            .WithDescription(
                "Repeat ack (at most as many ids as one receive returns) to acknowledge the previous batch on this poll: "
                + "those envelopes are deleted before the receive starts, and acknowledged counts them. Larger acknowledgements go to POST /v1/messages/ack.");
        group.MapPost("/ack", AckAsync).WithSummary("Delete received envelopes from own mailbox.");
        return group;
    }

    /// <summary>
    /// Deposits every envelope of the batch, after checking all of them. On a failure part-way the
    /// envelopes already committed stay; retrying the batch with the same message ids is safe.
    /// </summary>
    public static async Task<Results<Ok<DepositResponse>, ProblemHttpResult>> DepositAsync(
        DepositRequest request, ClaimsPrincipal user, GrainReferences grains, RecipientDirectory directory, GrainCallFailover failover,
        IOptions<LimitsOptions> limits, ILoggerFactory loggers, CancellationToken aborted)
    {
        var envelopes = request.Envelopes;
        if (envelopes.Count == 0 || envelopes.Count > limits.Value.MaxBatchEnvelopes)
        {
            return Problems.BadRequest($"envelopes must hold between 1 and {limits.Value.MaxBatchEnvelopes} envelopes.");
        }

        for (var i = 0; i < envelopes.Count; i++)
        {
            var envelope = envelopes[i];
            if (envelope is null)
            {
                return Problems.BadRequest($"envelopes[{i}] must not be null.");
            }

            if (!AccountId.IsWellFormed(envelope.Recipient))
            {
                return Problems.BadRequest($"envelopes[{i}].recipient must be an account id (32 characters of lowercase base32).");
            }

            if (envelope.MessageId == Guid.Empty)
            {
                return Problems.BadRequest($"envelopes[{i}].messageId must not be the empty GUID.");
            }

            if (envelope.Payload.Length is 0 || envelope.Payload.Length > limits.Value.MaxEnvelopeBytes)
            {
                return Problems.BadRequest($"envelopes[{i}].payload must be between 1 and {limits.Value.MaxEnvelopeBytes} bytes.");
            }
        }

        foreach (var recipient in envelopes.Select(e => e.Recipient).Distinct(StringComparer.Ordinal))
        {
            if (!await directory.ExistsAsync(recipient, aborted))
            {
                return Problems.Of(StatusCodes.Status404NotFound, Problems.AccountNotFound, $"No account has the id {recipient}.");
            }
        }

        // Each deposit is idempotent on its message id, so one lost with a silo is simply sent again.
        var receipts = await Task.WhenAll(envelopes.Select(e =>
            failover.RunAsync((_, _) => grains.Get<IMailboxGrain>(e.Recipient).DepositAsync(e.MessageId, e.Payload), aborted)));
        var logger = loggers.CreateLogger(typeof(MessagesApi));
        for (var i = 0; i < envelopes.Count; i++)
        {
            GatewayLog.Deposited(logger, user.AccountId(), envelopes[i].Recipient, envelopes[i].MessageId, envelopes[i].Payload.Length);
        }

        GatewayMetrics.EnvelopesDeposited.Inc(envelopes.Count);
        GatewayMetrics.EnvelopeBytesDeposited.Inc(envelopes.Sum(e => e.Payload.Length));
        return TypedResults.Ok(new DepositResponse(
            [.. envelopes.Zip(receipts, (e, r) => new DepositReceiptDto(e.Recipient, r.MessageId, r.Sequence, r.DepositedAt))]));
    }

    /// <summary>
    /// Returns the caller's envelopes after <paramref name="after"/>, waiting up to <paramref name="wait"/>
    /// seconds for one to arrive. Closing the request ends the wait. The ids in <paramref name="ack"/>
    /// (repeated query parameter, at most <see cref="LimitsOptions.MaxReceiveEnvelopes"/> of them, each
    /// a non-empty GUID) are deleted from the caller's own mailbox first, as <c>POST /v1/messages/ack</c>
    /// would, so a client can acknowledge a batch on its next poll; ids of other mailboxes have no effect.
    /// The deletion is committed before the wait starts, even when the request is closed during it.
    /// </summary>
    public static async Task<Results<Ok<ReceiveResponse>, ProblemHttpResult>> ReceiveAsync(
        ClaimsPrincipal user, GrainReferences grains, GrainCallFailover failover, LongPollLimiter longPolls, IOptions<LimitsOptions> limits,
        HttpContext httpContext, long after = 0, int wait = 0, int? max = null, Guid[]? ack = null)
    {
        if (after < 0)
        {
            return Problems.BadRequest("after must be a sequence number, 0 or more.");
        }

        if (wait < 0 || wait > limits.Value.MaxWaitSeconds)
        {
            return Problems.BadRequest($"wait must be between 0 and {limits.Value.MaxWaitSeconds} seconds.");
        }

        var limit = max ?? limits.Value.MaxReceiveEnvelopes;
        if (limit < 1 || limit > limits.Value.MaxReceiveEnvelopes)
        {
            return Problems.BadRequest($"max must be between 1 and {limits.Value.MaxReceiveEnvelopes}.");
        }

        ack ??= [];
        if (ack.Length > limits.Value.MaxReceiveEnvelopes)
        {
            return Problems.BadRequest(
                $"ack may repeat at most {limits.Value.MaxReceiveEnvelopes} times, to keep the address short; acknowledge more with POST /v1/messages/ack.");
        }

        if (Array.IndexOf(ack, Guid.Empty) is var empty and >= 0)
        {
            return Problems.BadRequest($"ack[{empty}] must not be the empty GUID.");
        }

        var accountId = user.AccountId();
        using var slot = longPolls.TryEnter(accountId);
        if (slot is null)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            return Problems.Of(StatusCodes.Status429TooManyRequests, Problems.RateLimited,
                $"At most {limits.Value.MaxConcurrentLongPolls} receives may wait at once for one account.");
        }

        GatewayMetrics.OpenLongPolls.Inc();
        try
        {
            var mailbox = grains.Get<IMailboxGrain>(accountId);
            var longest = TimeSpan.FromSeconds(wait);
            // Sent again after a silo loss, a receive waits only for what is left of the wait asked for.
            var result = await failover.RunAsync((elapsed, cancellation) =>
            {
                var left = elapsed < longest ? longest - elapsed : TimeSpan.Zero;
                return ack.Length > 0
                    ? mailbox.AckAndReceiveAsync(ack, after, limit, left, cancellation)
                    : mailbox.ReceiveAsync(after, limit, left, cancellation);
            }, httpContext.RequestAborted);
            GatewayMetrics.EnvelopesAcknowledged.Inc(result.Acknowledged);
            GatewayMetrics.EnvelopesDelivered.Inc(result.Envelopes.Count);
            return TypedResults.Ok(new ReceiveResponse(
                [.. result.Envelopes.Select(e => new IncomingEnvelope(e.MessageId, e.Sequence, e.Payload, e.DepositedAt))],
                result.HasMore, result.Acknowledged));
        }
        finally
        {
            GatewayMetrics.OpenLongPolls.Dec();
        }
    }

    /// <summary>Deletes envelopes from the caller's own mailbox; ids of other mailboxes have no effect.</summary>
    public static async Task<Results<Ok<AckResponse>, ProblemHttpResult>> AckAsync(
        AckRequest request, ClaimsPrincipal user, GrainReferences grains, GrainCallFailover failover, IOptions<LimitsOptions> limits,
        CancellationToken aborted)
    {
        if (request.MessageIds.Count == 0 || request.MessageIds.Count > limits.Value.MaxAckIds)
        {
            return Problems.BadRequest($"messageIds must hold between 1 and {limits.Value.MaxAckIds} ids.");
        }

        var acknowledged = await failover.RunAsync((_, _) => grains.Get<IMailboxGrain>(user.AccountId()).AckAsync(request.MessageIds), aborted);
        GatewayMetrics.EnvelopesAcknowledged.Inc(acknowledged);
        return TypedResults.Ok(new AckResponse(acknowledged));
    }
}

/// <summary>The gateway's log messages: ids, counts and sizes only.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Account {Sender} deposited message {MessageId} ({Size} bytes) for {Recipient}")]
    public static partial void Deposited(ILogger logger, string sender, string recipient, Guid messageId, int size);
}
