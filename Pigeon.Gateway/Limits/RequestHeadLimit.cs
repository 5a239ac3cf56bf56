using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;

namespace Pigeon.Gateway.Limits;

/// <summary>
/// The limits on a request's line and header fields, answered with a ProblemDetails. Kestrel
/// answers what it refuses itself before any middleware runs, with an empty body and no way to add
/// one; so Kestrel is given ceilings of twice the configured limits and this middleware enforces the
/// limits: a request over a limit but under Kestrel's ceiling gets a 414 or 431 problem. Kestrel
/// also decodes header values as Latin-1 instead of refusing bytes above 0x7F, which HTTP allows
/// (obs-text, RFC 9110 §5.5); this middleware refuses them, and control characters Kestrel lets
/// through, with a 400 problem before anything reads them. The README lists what Kestrel still answers alone.
/// </summary>
internal sealed class RequestHeadLimit(RequestDelegate next, LimitsOptions limits)
{
    // "HTTP/1.1" and the two spaces and CRLF of a request line.
    private const int RequestLineOverhead = 12;

    /// <summary>Kestrel's own limits: twice ours, so that ours are the ones a client meets.</summary>
    public static void ConfigureKestrel(KestrelServerOptions kestrel, LimitsOptions limits)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(limits);
        kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes;
        kestrel.Limits.MaxRequestLineSize = 2 * limits.MaxRequestLineBytes;
        kestrel.Limits.MaxRequestHeadersTotalSize = 2 * limits.MaxRequestHeaderBytes;
        kestrel.Limits.MaxRequestHeaderCount = 2 * limits.MaxRequestHeaders;
        kestrel.RequestHeaderEncodingSelector = _ => Encoding.Latin1;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Features.GetRequiredFeature<IHttpRequestFeature>();
        // Kestrel gives the target as sent; a server that does not (the in-memory test server) is measured by its parts.
        var target = request.RawTarget is { Length: > 0 } raw
            ? raw.Length
            : (context.Request.PathBase + context.Request.Path).ToUriComponent().Length + context.Request.QueryString.ToUriComponent().Length;
        var lineBytes = request.Method.Length + target + RequestLineOverhead;
        if (lineBytes > limits.MaxRequestLineBytes)
        {
            await WriteAsync(context, StatusCodes.Status414RequestUriTooLong, "The request target is too long.",
                $"The request line may be at most {limits.MaxRequestLineBytes} bytes.");
            return;
        }

        var (fields, bytes, visible) = (0, 0L, true);
        foreach (var (name, values) in context.Request.Headers)
        {
            foreach (var value in values)
            {
                fields++;
                // As Kestrel counts: the name, ": ", the value and CRLF.
                bytes += name.Length + (value?.Length ?? 0) + 4;
                visible &= value is null || IsFieldValue(value);
            }
        }

        if (fields > limits.MaxRequestHeaders || bytes > limits.MaxRequestHeaderBytes)
        {
            await WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, "The request's header fields are too large.",
                $"A request may carry at most {limits.MaxRequestHeaders} header fields of at most {limits.MaxRequestHeaderBytes} bytes in all.");
            return;
        }

        if (!visible)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, "The request is invalid.",
                "Header values must be visible ASCII characters, spaces and tabs.");
            return;
        }

        await next(context);
    }

    // RFC 9110 §5.5 field-vchar and whitespace; obs-text (above 0x7F) is valid HTTP but not used by this API.
    private static bool IsFieldValue(string value) => !value.AsSpan().ContainsAnyExceptInRange(' ', '~') || value.All(c => c is '\t' or (>= ' ' and <= '~'));

    private static ValueTask WriteAsync(HttpContext context, int status, string title, string detail)
    {
        // The connection may carry the rest of an oversized request; another request on it is not worth reading.
        context.Response.Headers.Connection = "close";
        return Problems.WriteAsync(context, status, Problems.ForStatus(status), title, detail);
    }
}
