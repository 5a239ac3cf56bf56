using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Orleans.Serialization;
using Pigeon.Api;
using Pigeon.Grains.Abstractions;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Hosting.Database;

namespace Pigeon.Gateway.Errors;

/// <summary>
/// Turns every exception that reaches the pipeline into a ProblemDetails with a stable type: domain
/// refusals from the grains keep their meaning, bad input is a 400, an unreachable cluster or
/// database is a 503 with Retry-After, and anything else is a bare 500 with no detail.
/// </summary>
internal sealed partial class ExceptionProblemHandler(IProblemDetailsService problemDetails, ILogger<ExceptionProblemHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
            return true;
        }

        var (status, type, title, detail) = Map(exception);
        if (status == StatusCodes.Status500InternalServerError)
        {
            LogUnexpected(exception, httpContext.Request.Path);
        }
        else if (status > StatusCodes.Status500InternalServerError)
        {
            LogServerProblem(exception.GetType().Name, httpContext.Request.Path, status);
        }

        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
        }
        else if (exception is NewRecipientLimitException limited)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(limited.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail },
        });
    }

    internal static (int Status, string Type, string Title, string? Detail) Map(Exception exception) => exception switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
            (413, ProblemTypes.BodyTooLarge, "The request body is too large.", null),
        BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } bad =>
            (415, ProblemTypes.UnsupportedMediaType, "The body must be JSON (Content-Type: application/json).", bad.Message),
        BadHttpRequestException bad => (400, ProblemTypes.InvalidRequest, "The request is invalid.", Describe(bad)),
        JsonException json => (400, ProblemTypes.InvalidRequest, "The request is invalid.", JsonDetail(json)),
        AccountNotFoundException => (404, ProblemTypes.AccountNotFound, "No account has this id.", null),
        AccountConflictException => (409, ProblemTypes.AccountConflict, "This account id is registered with other keys.", null),
        KeyMismatchException mismatch => (400, ProblemTypes.KeyMismatch, "The keys do not match the account id, or a signature does not verify.", mismatch.Message),
        DeviceListStaleException stale => (409, ProblemTypes.DeviceListStale, "The device list is not newer than the stored one.", stale.Message),
        PrekeysUnavailableException => (409, ProblemTypes.PrekeysUnavailable, "The account has not published prekeys.", null),
        PrekeyPoolFullException full => (409, ProblemTypes.PrekeyPoolFull, "The one-time prekey pool is full.", full.Message),
        NewRecipientLimitException limited => (429, ProblemTypes.RateLimited, "Too many new recipients.",
            $"An account may write to at most {limited.Limit} new recipients an hour without their delivery key."),
        SenderPendingLimitException pending => (409, ProblemTypes.MailboxFull, "The recipient's mailbox is full for this sender.", pending.Message),
        MailboxQuotaExceededException full => (409, ProblemTypes.MailboxFull, "The recipient's mailbox is full.", full.Message),
        DeviceRemovedException => (403, ProblemTypes.DeviceRemoved, "The device was removed from its account.", null),
        ArgumentException argument => (400, ProblemTypes.InvalidRequest, "The request is invalid.", argument.Message),
        _ when IsUnavailable(exception) => (503, ProblemTypes.Unavailable, "The service is temporarily unavailable; try again.", null),
        _ => (500, ProblemTypes.Internal, "An unexpected error occurred.", null),
    };

    private static bool IsUnavailable(Exception exception) => exception switch
    {
        ServiceUnavailableException or TimeoutException or Orleans.Runtime.OrleansException => true,
        NpgsqlException npgsql => PigeonDatabase.IsTransient(npgsql),
        // A database exception that escapes a grain cannot cross the wire (Orleans has no codec for
        // Npgsql's exception types), so the gateway receives only the codec failure, which names it.
        CodecNotFoundException codec => codec.Message.Contains("Npgsql.", StringComparison.Ordinal),
        AggregateException aggregate => aggregate.InnerExceptions.All(IsUnavailable),
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };

    private static string Describe(BadHttpRequestException bad) =>
        bad.InnerException is JsonException json ? JsonDetail(json) : bad.Message;

    // JsonException messages name the path and position, never the offending value.
    private static string JsonDetail(JsonException json) =>
        json.Path is { Length: > 0 } path ? $"The JSON is invalid at '{path}': {FirstSentence(json.Message)}" : $"The JSON is invalid: {FirstSentence(json.Message)}";

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error on {Path}")]
    private partial void LogUnexpected(Exception exception, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{ExceptionType} on {Path} answered {Status}")]
    private partial void LogServerProblem(string exceptionType, string path, int status);
}
