using System.Buffers;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Limits;
using Pigeon.Hosting;

namespace Pigeon.Gateway.Attachments;

/// <summary>
/// Encrypted attachments (issue 18): the uploader creates an upload, sends its chunks (resuming from
/// what <c>status</c> lists as missing) and completes it; anyone holding the id and the capability
/// the sender put in the encrypted message downloads it, without a token. The server sees the padded
/// size, the uploader and times, never a key, a name or a type.
/// </summary>
public static partial class AttachmentsApi
{
    /// <summary>Maps the routes under <c>/v1/attachments</c>.</summary>
    public static IEndpointRouteBuilder MapAttachmentsApi(this IEndpointRouteBuilder app)
    {
        var uploads = app.MapGroup("/v1/attachments").WithTags("Attachments");
        uploads.MapPost("/", CreateAsync).RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Start an upload of a padded, encrypted file of the declared size; returns its id, the download capability (once) and the chunk layout.");
        uploads.MapPut("/{attachmentId:guid}/chunks/{index:int}", PutChunkAsync).RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Upload one chunk (application/octet-stream, exactly chunkBytes long but the last); resending a chunk replaces it.");
        uploads.MapGet("/{attachmentId:guid}/status", StatusAsync).RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("What the server holds of the caller's upload: the missing chunks, so an interrupted upload sends only the rest.");
        uploads.MapPost("/{attachmentId:guid}/complete", CompleteAsync).RequireAuthorization().RequireRateLimiting(RateLimits.Account)
            .WithSummary("Complete the upload once every chunk is there; only then can it be downloaded.");
        uploads.MapGet("/{attachmentId:guid}", DownloadAsync).AllowAnonymous().RequireRateLimiting(RateLimits.Sealed)
            .WithSummary($"Download the ciphertext with the capability in the {ApiLimits.AttachmentCapabilityHeader} header (no token); Range: bytes=N- resumes. An unknown id and a wrong capability get the same 404.");
        return app;
    }

    /// <summary>Creates an upload within the size limit and the caller's daily quota.</summary>
    public static async Task<Results<Created<CreateAttachmentResponse>, ProblemHttpResult>> CreateAsync(
        CreateAttachmentRequest request, ClaimsPrincipal user, IOptions<AttachmentsOptions> options, HttpContext httpContext,
        [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider clock, IServiceProvider services, CancellationToken aborted)
    {
        if (services.GetService<IAttachmentStore>() is not { } store)
        {
            return NotConfigured();
        }

        var limits = options.Value;
        if (request.SizeBytes < 0)
        {
            return Problems.BadRequest("sizeBytes must not be negative.");
        }

        if (request.LifetimeSeconds is <= 0)
        {
            return Problems.BadRequest("lifetimeSeconds must be at least 1.");
        }

        if (request.SizeBytes > limits.MaxFileBytes)
        {
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, ProblemTypes.AttachmentTooLarge,
                "The attachment is too large.", $"One attachment may be at most {limits.MaxFileBytes} bytes.");
        }

        var now = clock.GetUtcNow();
        var lifetime = request.LifetimeSeconds is { } seconds && TimeSpan.FromSeconds(seconds) < limits.Lifetime ? TimeSpan.FromSeconds(seconds) : limits.Lifetime;
        var capability = RandomNumberGenerator.GetBytes(ApiLimits.AttachmentCapabilityBytes);
        var chunkCount = (int)((request.SizeBytes + ApiLimits.AttachmentChunkBytes - 1) / ApiLimits.AttachmentChunkBytes);
        var attachment = new StoredAttachment(Guid.NewGuid(), user.AccountId(), SHA256.HashData(capability), request.SizeBytes,
            ApiLimits.AttachmentChunkBytes, chunkCount, now + lifetime, null);
        var creation = await store.CreateAsync(attachment, now, limits.BytesPerDay, aborted);
        if (creation.Created is null)
        {
            var wait = (creation.QuotaFreesAt ?? now) - now;
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Problems.Of(StatusCodes.Status429TooManyRequests, ProblemTypes.AttachmentQuotaExceeded,
                "The daily attachment quota is used up.", $"An account may upload at most {limits.BytesPerDay} attachment bytes in 24 hours.");
        }

        LogCreated(httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AttachmentsApi)), attachment.AttachmentId, attachment.SizeBytes);
        return TypedResults.Created($"/v1/attachments/{attachment.AttachmentId}",
            new CreateAttachmentResponse(attachment.AttachmentId, capability, attachment.ChunkBytes, chunkCount, attachment.ExpiresAt));
    }

    /// <summary>Stores one chunk of the caller's incomplete upload; its length must be the layout's.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> PutChunkAsync(
        Guid attachmentId, int index, ClaimsPrincipal user, HttpRequest httpRequest,
        [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider clock, IServiceProvider services, CancellationToken aborted)
    {
        if (services.GetService<IAttachmentStore>() is not { } store)
        {
            return NotConfigured();
        }

        if (await OwnUploadAsync(store, attachmentId, user, clock, aborted) is not { } attachment)
        {
            return NoSuchAttachment();
        }

        if (index < 0 || index >= attachment.ChunkCount)
        {
            return Problems.BadRequest($"index must be between 0 and {attachment.ChunkCount - 1}.");
        }

        if (attachment.CompletedAt is not null)
        {
            return Completed();
        }

        var expected = attachment.ChunkLength(index);
        if (httpRequest.ContentLength is { } declared && declared != expected)
        {
            return Problems.BadRequest($"chunk {index} must be {expected} bytes.");
        }

        // One chunk in memory, never the file: the buffer is the chunk's exact length plus one byte to notice a longer body.
        var buffer = ArrayPool<byte>.Shared.Rent(expected + 1);
        try
        {
            var length = 0;
            int read;
            while (length <= expected && (read = await httpRequest.Body.ReadAsync(buffer.AsMemory(length, expected + 1 - length), aborted)) > 0)
            {
                length += read;
            }

            if (length != expected)
            {
                return Problems.BadRequest($"chunk {index} must be {expected} bytes.");
            }

            return await store.PutChunkAsync(attachmentId, index, buffer.AsMemory(0, length), aborted) ? TypedResults.NoContent() : Completed();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The chunks of the caller's upload the server still lacks.</summary>
    public static async Task<Results<Ok<AttachmentStatusResponse>, ProblemHttpResult>> StatusAsync(
        Guid attachmentId, ClaimsPrincipal user, [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider clock, IServiceProvider services, CancellationToken aborted)
    {
        if (services.GetService<IAttachmentStore>() is not { } store)
        {
            return NotConfigured();
        }

        if (await OwnUploadAsync(store, attachmentId, user, clock, aborted) is not { } attachment)
        {
            return NoSuchAttachment();
        }

        var missing = attachment.CompletedAt is null ? await store.MissingChunksAsync(attachmentId, attachment.ChunkCount, aborted) : [];
        return TypedResults.Ok(new AttachmentStatusResponse(attachment.SizeBytes, attachment.ChunkCount, missing, attachment.CompletedAt is not null, attachment.ExpiresAt));
    }

    /// <summary>Completes the caller's upload when no chunk is missing.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> CompleteAsync(
        Guid attachmentId, ClaimsPrincipal user, [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider clock, IServiceProvider services, CancellationToken aborted)
    {
        if (services.GetService<IAttachmentStore>() is not { } store)
        {
            return NotConfigured();
        }

        if (await OwnUploadAsync(store, attachmentId, user, clock, aborted) is not { } attachment)
        {
            return NoSuchAttachment();
        }

        if (!await store.CompleteAsync(attachmentId, attachment.ChunkCount, clock.GetUtcNow(), aborted))
        {
            return Problems.Of(StatusCodes.Status409Conflict, ProblemTypes.AttachmentConflict,
                "The upload lacks chunks.", $"Ask GET /v1/attachments/{attachmentId}/status which, and send them.");
        }

        return TypedResults.NoContent();
    }

    /// <summary>
    /// Streams a completed attachment to whoever presents its capability. A missing or wrong
    /// capability, an unknown, incomplete or expired id all get the same 404.
    /// </summary>
    public static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> DownloadAsync(
        Guid attachmentId, HttpContext httpContext, [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider clock,
        IServiceProvider services, CancellationToken aborted)
    {
        if (services.GetService<IAttachmentStore>() is not { } store)
        {
            return NotConfigured();
        }

        var presented = new byte[ApiLimits.AttachmentCapabilityBytes];
        var header = httpContext.Request.Headers[ApiLimits.AttachmentCapabilityHeader].ToString();
        var wellFormed = Convert.TryFromBase64String(header, presented, out var length) && length == presented.Length;
        var attachment = wellFormed ? await store.FindAsync(attachmentId, clock.GetUtcNow(), aborted) : null;
        if (attachment is not { CompletedAt: not null } || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(presented), attachment.CapabilityHash))
        {
            return NoSuchAttachment();
        }

        var offset = 0L;
        var range = httpContext.Request.Headers.Range.ToString();
        if (range.Length > 0)
        {
            if (!TryParseOpenRange(range, out offset) || offset > attachment.SizeBytes)
            {
                return Problems.Of(StatusCodes.Status416RangeNotSatisfiable, ProblemTypes.InvalidRequest,
                    "The range cannot be served.", $"Only Range: bytes=N- with N at most {attachment.SizeBytes} is served.");
            }

            httpContext.Response.StatusCode = StatusCodes.Status206PartialContent;
            httpContext.Response.Headers.ContentRange = attachment.SizeBytes == 0 || offset == attachment.SizeBytes
                ? $"bytes */{attachment.SizeBytes}"
                : $"bytes {offset}-{attachment.SizeBytes - 1}/{attachment.SizeBytes}";
        }

        httpContext.Response.ContentLength = attachment.SizeBytes - offset;
        httpContext.Response.Headers.AcceptRanges = "bytes";
        return TypedResults.Stream(body => store.CopyToAsync(attachment, offset, body, aborted), "application/octet-stream");
    }

    private static bool TryParseOpenRange(string range, out long offset)
    {
        offset = 0;
        const string prefix = "bytes=";
        return range.StartsWith(prefix, StringComparison.Ordinal) && range.EndsWith('-')
            && long.TryParse(range.AsSpan(prefix.Length, range.Length - prefix.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out offset);
    }

    private static async Task<StoredAttachment?> OwnUploadAsync(IAttachmentStore store, Guid attachmentId, ClaimsPrincipal user, TimeProvider clock, CancellationToken ct) =>
        await store.FindAsync(attachmentId, clock.GetUtcNow(), ct) is { } attachment && attachment.Uploader == user.AccountId() ? attachment : null;

    private static ProblemHttpResult NoSuchAttachment() =>
        Problems.Of(StatusCodes.Status404NotFound, ProblemTypes.NotFound, "No such attachment.",
            "The id is unknown, expired or incomplete, or the capability does not match it.");

    private static ProblemHttpResult Completed() =>
        Problems.Of(StatusCodes.Status409Conflict, ProblemTypes.AttachmentConflict, "The upload is already complete.", "A completed attachment cannot change.");

    private static ProblemHttpResult NotConfigured() =>
        Problems.Of(StatusCodes.Status503ServiceUnavailable, ProblemTypes.Unavailable, "Attachments are not available.",
            "This server has no attachment store (ConnectionStrings:Pigeon is not set).");

    // The id and the size only: never the uploader together with who will download.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Attachment {AttachmentId} created ({Bytes} bytes)")]
    private static partial void LogCreated(ILogger logger, Guid attachmentId, long bytes);
}
