using Microsoft.AspNetCore.Http.Features;
using Pigeon.Api;
using Pigeon.Gateway.Errors;

namespace Pigeon.Gateway.Limits;

/// <summary>
/// Applies the configured body-size limit to every request: a declared length over it is refused
/// before anything is read, and the server stops reading a chunked body at the limit.
/// </summary>
internal sealed class RequestBodyLimit(RequestDelegate next, long maxBytes)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
        }

        if (context.Request.ContentLength > maxBytes)
        {
            await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ProblemTypes.BodyTooLarge,
                "The request body is too large.", $"Bodies may be at most {maxBytes} bytes.");
            return;
        }

        await next(context);
    }
}
