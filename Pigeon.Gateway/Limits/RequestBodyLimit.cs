using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
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
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Type = Problems.BodyTooLarge,
                    Title = "The request body is too large.",
                    Detail = $"Bodies may be at most {maxBytes} bytes.",
                },
            });
            return;
        }

        await next(context);
    }
}
