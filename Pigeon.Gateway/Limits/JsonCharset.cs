using Microsoft.Net.Http.Headers;
using Pigeon.Api;
using Pigeon.Gateway.Errors;

namespace Pigeon.Gateway.Limits;

/// <summary>
/// Reads the <c>charset</c> parameter of a JSON body's <c>Content-Type</c> as HTTP defines it
/// (RFC 9110 §8.3.2: a token or a quoted string, case-insensitive), before the framework does.
/// ASP.NET Core hands the raw value, quotes included, to <c>Encoding.GetEncoding</c> and answers 500
/// when that fails. JSON is UTF-8 (RFC 8259 §8.1), so <c>charset=utf-8</c> in any spelling HTTP
/// allows is accepted and normalised; any other charset is a 415 problem, and a header that is not
/// a media type at all is a 400 problem.
/// </summary>
internal sealed class JsonCharset(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var header = context.Request.ContentType;
        if (header is null || !header.Contains("charset", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        // A parameter value is a token or a quoted string, never empty (RFC 9110 §5.6.6); the parser lets "charset=" through.
        if (!MediaTypeHeaderValue.TryParse(header, out var contentType) || contentType.Charset is { HasValue: true, Length: 0 })
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemTypes.InvalidRequest,
                "The request is invalid.", "The Content-Type header is not a media type (RFC 9110 §8.3).");
            return;
        }

        if (contentType.Charset.HasValue && IsJson(contentType))
        {
            if (!string.Equals(HeaderUtilities.RemoveQuotes(contentType.Charset).Value, "utf-8", StringComparison.OrdinalIgnoreCase))
            {
                await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType,
                    "The body must be JSON in UTF-8.", "JSON bodies must be encoded as UTF-8 (RFC 8259 §8.1); send charset=utf-8 or no charset.");
                return;
            }

            contentType.Charset = "utf-8";
            context.Request.ContentType = contentType.ToString();
        }

        await next(context);
    }

    private static bool IsJson(MediaTypeHeaderValue contentType) =>
        contentType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || contentType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);
}
