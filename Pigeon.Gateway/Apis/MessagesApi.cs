using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Accounts;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Hosting;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Apis;

/// <summary>
/// Deposits to every device of anyone; long-poll receive and acknowledgement of the caller's own
/// device's mailbox. A device its account removed is refused on every route here (403), whatever its
/// token says.
/// </summary>
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
    /// Deposits every envelope of the batch, each into the mailbox of its recipient's device, after
    /// checking all of them: their shape, that the recipients exist, that the caller's device is still on
    /// its list, and that the devices addressed for each recipient are exactly those on its list (for
    /// the caller's own account, all but the caller's device, which may address itself too); otherwise
    /// nothing is stored (409, 410).
    /// On a failure part-way the envelopes already committed stay; retrying the batch with the same
    /// message ids is safe.
    /// </summary>
    public static async Task<Results<Ok<DepositResponse>, ProblemHttpResult>> DepositAsync(
        DepositRequest request, ClaimsPrincipal user, GrainReferences grains, RecipientDirectory directory, GrainCallFailover failover,
        IOptions<LimitsOptions> limits, ApiMetrics metrics, ILoggerFactory loggers, CancellationToken aborted)
    {
        var envelopes = request.Envelopes;
        if (CheckBatch(envelopes, e => (e.Recipient, e.DeviceId, e.MessageId, e.Payload, e.LifetimeSeconds), limits.Value) is { } invalid)
        {
            return invalid;
        }

        foreach (var recipient in envelopes.Select(e => e.Recipient).Distinct(StringComparer.Ordinal))
        {
            if (!await directory.ExistsAsync(recipient, aborted))
            {
                return Problems.Of(StatusCodes.Status404NotFound, ProblemTypes.AccountNotFound, $"No account has the id {recipient}.");
            }
        }

        // The identified route is for first messages; contacts deposit sealed. This bounds how many
        // strangers one account reaches (NewRecipientLimitException answers 429).
        // Noting the same recipients again changes nothing, so a call lost with a silo is sent again too.
        // The sender's account grain refuses a removed device here too (403).
        IReadOnlyList<string> recipients = [.. envelopes.Select(e => e.Recipient).Distinct(StringComparer.Ordinal)];
        var (sender, senderDevice) = (user.AccountId(), user.DeviceId());
        await failover.RunAsync(async (_, _) =>
        {
            await grains.Get<IAccountGrain>(sender).NoteIdentifiedRecipientsAsync(senderDevice, recipients);
            return true;
        }, aborted);
        if (await CheckDevicesAsync(envelopes, e => (e.Recipient, e.DeviceId), sender, senderDevice, grains, failover, aborted) is { } mismatch)
        {
            return mismatch;
        }

        // Each deposit is idempotent on its message id, so one lost with a silo is simply sent again.
        var receipts = await Task.WhenAll(envelopes.Select(e =>
            failover.RunAsync((_, _) => grains.Get<IMailboxGrain>(MailboxKeys.Of(e.Recipient, e.DeviceId))
                .DepositFromAsync(sender, e.MessageId, e.Payload, Lifetime(e.LifetimeSeconds)), aborted)));
        GatewayLog.Deposited(loggers.CreateLogger(typeof(MessagesApi)), user.AccountId(), envelopes.Count, envelopes.Sum(e => e.Payload.Length));

        metrics.Deposited(envelopes.Count, envelopes.Sum(e => (long)e.Payload.Length));
        return TypedResults.Ok(new DepositResponse(
            [.. envelopes.Zip(receipts, (e, r) => new DepositReceiptDto(e.Recipient, r.MessageId, r.Sequence, r.DepositedAt, e.DeviceId))]));
    }

    /// <summary>
    /// Compares, for each recipient account of a batch, the devices it addresses with the account's list
    /// (one grain call per account): for the caller's own account (<paramref name="ownAccount"/>, on the
    /// identified route) without the caller's device. Null when all match; otherwise the problem to
    /// answer, naming every account that differs in its <c>devices</c> extension: a 410 when all the
    /// difference is devices the accounts removed, a 409 when a device is missing or never existed.
    /// </summary>
    internal static async Task<ProblemHttpResult?> CheckDevicesAsync<T>(
        IReadOnlyList<T> envelopes, Func<T, (string Recipient, uint DeviceId)> address, string? ownAccount, uint? ownDevice,
        GrainReferences grains, GrainCallFailover failover, CancellationToken aborted)
    {
        var byAccount = envelopes.Select(address).GroupBy(a => a.Recipient, StringComparer.Ordinal).ToList();
        // A read, safe to send again after a silo loss.
        var checks = await Task.WhenAll(byAccount.Select(group =>
        {
            IReadOnlyList<uint> addressed = [.. group.Select(a => a.DeviceId).Distinct()];
            var except = group.Key == ownAccount ? ownDevice : null;
            return failover.RunAsync((_, _) => grains.Get<IAccountGrain>(group.Key).CheckDevicesAsync(addressed, except), aborted);
        }));
        var mismatches = byAccount.Zip(checks, (group, check) => (group.Key, check)).Where(x => !x.check.Matches)
            .Select(x => new DeviceMismatch(x.Key, x.check.Missing, x.check.Extra, x.check.Stale)).ToList();
        if (mismatches.Count == 0)
        {
            return null;
        }

        var onlyStale = mismatches.All(m => m.Missing.Count == 0 && m.Extra.Count == 0);
        var devices = JsonSerializer.SerializeToElement<IReadOnlyList<DeviceMismatch>>(mismatches, PigeonJson.TypeInfo<IReadOnlyList<DeviceMismatch>>());
        return TypedResults.Problem(
            onlyStale
                ? "The deposit addressed devices their accounts removed; nothing was stored. Drop them and deposit again."
                : "The deposit's devices are not the recipients' device lists; nothing was stored. Fetch the lists named in devices and deposit again.",
            statusCode: onlyStale ? StatusCodes.Status410Gone : StatusCodes.Status409Conflict,
            title: onlyStale ? "Devices were removed." : "The devices do not match.",
            type: onlyStale ? ProblemTypes.DevicesStale : ProblemTypes.DeviceMismatch,
            extensions: new Dictionary<string, object?> { ["devices"] = devices });
    }

    /// <summary>
    /// Checks a batch of envelopes of either route before anything is deposited: its size, and each
    /// envelope's recipient id, device id, message id and payload size. Null when all are well formed.
    /// The same message id may go to several devices (one mailbox each); a (recipient, device, message
    /// id) that repeats is one envelope twice, which the batch refuses.
    /// </summary>
    internal static ProblemHttpResult? CheckBatch<T>(
        IReadOnlyList<T> envelopes, Func<T, (string Recipient, uint DeviceId, Guid MessageId, byte[] Payload, int? LifetimeSeconds)> parts, LimitsOptions limits)
    {
        if (envelopes.Count == 0 || envelopes.Count > limits.MaxBatchEnvelopes)
        {
            return Problems.BadRequest($"envelopes must hold between 1 and {limits.MaxBatchEnvelopes} envelopes.");
        }

        var seen = new HashSet<(string, uint, Guid)>();
        for (var i = 0; i < envelopes.Count; i++)
        {
            if (envelopes[i] is not { } envelope)
            {
                return Problems.BadRequest($"envelopes[{i}] must not be null.");
            }

            var (recipient, deviceId, messageId, payload, lifetimeSeconds) = parts(envelope);
            if (!AccountId.IsWellFormed(recipient))
            {
                return Problems.BadRequest($"envelopes[{i}].recipient must be an account id (32 characters of lowercase base32).");
            }

            if (deviceId == 0)
            {
                return Problems.BadRequest($"envelopes[{i}].deviceId must be above 0.");
            }

            if (!seen.Add((recipient, deviceId, messageId)))
            {
                return Problems.BadRequest($"envelopes[{i}] repeats the recipient, device and message id of an earlier envelope.");
            }

            if (messageId == Guid.Empty)
            {
                return Problems.BadRequest($"envelopes[{i}].messageId must not be the empty GUID.");
            }

            if (payload.Length is 0 || payload.Length > limits.MaxEnvelopeBytes)
            {
                return Problems.BadRequest($"envelopes[{i}].payload must be between 1 and {limits.MaxEnvelopeBytes} bytes.");
            }

            if (lifetimeSeconds <= 0)
            {
                return Problems.BadRequest($"envelopes[{i}].lifetimeSeconds must be positive when given.");
            }
        }

        return null;
    }

    /// <summary>The lifetime a deposit asks for; the mailbox keeps it no longer than its own limit.</summary>
    internal static TimeSpan? Lifetime(int? seconds) => seconds is { } s ? TimeSpan.FromSeconds(s) : null;

    /// <summary>
    /// Returns the caller's envelopes after <paramref name="after"/>, waiting up to <paramref name="wait"/>
    /// seconds for one to arrive. Closing the request ends the wait. The ids in <paramref name="ack"/>
    /// (repeated query parameter, at most <see cref="LimitsOptions.MaxReceiveEnvelopes"/> of them, each
    /// a non-empty GUID) are deleted from the caller's own mailbox first, as <c>POST /v1/messages/ack</c>
    /// would, so a client can acknowledge a batch on its next poll; ids of other mailboxes have no effect.
    /// The deletion is committed before the wait starts, even when the request is closed during it.
    /// </summary>
    public static async Task<Results<Ok<ReceiveResponse>, ProblemHttpResult>> ReceiveAsync(
        ClaimsPrincipal user, GrainReferences grains, GrainCallFailover failover, LongPollLimiter longPolls, IOptions<LimitsOptions> limits, ApiMetrics metrics,
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

        var mailboxKey = user.MailboxKey();
        using var slot = longPolls.TryEnter(mailboxKey);
        if (slot is null)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            return Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.RateLimited,
                $"At most {limits.Value.MaxConcurrentLongPolls} receives may wait at once for one device.");
        }

        await EnsureDeviceActiveAsync(user, grains, failover, httpContext.RequestAborted);
        using (metrics.LongPollStarted())
        {
            var mailbox = grains.Get<IMailboxGrain>(mailboxKey);
            var longest = TimeSpan.FromSeconds(wait);
            // Sent again after a silo loss, a receive waits only for what is left of the wait asked for.
            var result = await failover.RunAsync((elapsed, cancellation) =>
            {
                var left = elapsed < longest ? longest - elapsed : TimeSpan.Zero;
                return ack.Length > 0
                    ? mailbox.AckAndReceiveAsync(ack, after, limit, left, cancellation)
                    : mailbox.ReceiveAsync(after, limit, left, cancellation);
            }, httpContext.RequestAborted);
            metrics.Acknowledged(result.Acknowledged);
            metrics.Delivered(result.Envelopes.Count);
            return TypedResults.Ok(new ReceiveResponse(
                [.. result.Envelopes.Select(e => new IncomingEnvelope(e.MessageId, e.Sequence, e.Payload, e.DepositedAt))],
                result.HasMore, result.Acknowledged));
        }
    }

    /// <summary>Deletes envelopes from the caller's own device's mailbox; ids of other mailboxes have no effect.</summary>
    public static async Task<Results<Ok<AckResponse>, ProblemHttpResult>> AckAsync(
        AckRequest request, ClaimsPrincipal user, GrainReferences grains, GrainCallFailover failover, IOptions<LimitsOptions> limits,
        ApiMetrics metrics, CancellationToken aborted)
    {
        if (request.MessageIds.Count == 0 || request.MessageIds.Count > limits.Value.MaxAckIds)
        {
            return Problems.BadRequest($"messageIds must hold between 1 and {limits.Value.MaxAckIds} ids.");
        }

        await EnsureDeviceActiveAsync(user, grains, failover, aborted);
        var acknowledged = await failover.RunAsync((_, _) => grains.Get<IMailboxGrain>(user.MailboxKey()).AckAsync(request.MessageIds), aborted);
        metrics.Acknowledged(acknowledged);
        return TypedResults.Ok(new AckResponse(acknowledged));
    }

    /// <summary>
    /// Raises <see cref="DeviceRemovedException"/> (a 403) when the token's device is no longer on its
    /// account's list: asked of the account grain on each request, as a token outlives a removal.
    /// </summary>
    internal static Task EnsureDeviceActiveAsync(ClaimsPrincipal user, GrainReferences grains, GrainCallFailover failover, CancellationToken aborted)
    {
        var (accountId, deviceId) = (user.AccountId(), user.DeviceId());
        return failover.RunAsync(async (_, _) =>
        {
            await grains.Get<IAccountGrain>(accountId).EnsureDeviceActiveAsync(deviceId);
            return true;
        }, aborted);
    }
}

/// <summary>The gateway's log messages: ids, counts and sizes only.</summary>
internal static partial class GatewayLog
{
    // Never the recipients: no log line names both ends of a deposit.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Account {Sender} deposited {Count} envelopes ({Bytes} bytes)")]
    public static partial void Deposited(ILogger logger, string sender, int count, int bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pigeon:Auth:Origins is not set: a sign-in counts when it was signed for the origin its own request names, which a relaying server chooses. Set it to the origins clients use, e.g. https://pigeon.example.com")]
    public static partial void NoOrigins(ILogger logger);
}
