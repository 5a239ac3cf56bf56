using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Pigeon.Api;

namespace Pigeon.Gateway.Errors;

/// <summary>
/// Builds the API's problems (RFC 9457 ProblemDetails) with the stable types of <see cref="ProblemTypes"/>.
/// </summary>
public static class Problems
{
    /// <summary>
    /// The stable type for a problem the framework raised with only a status code (routing, content
    /// negotiation), so that every problem the API answers carries one of ours.
    /// </summary>
    public static string ForStatus(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => ProblemTypes.TokenMissing,
        StatusCodes.Status404NotFound => ProblemTypes.NotFound,
        StatusCodes.Status405MethodNotAllowed => ProblemTypes.MethodNotAllowed,
        StatusCodes.Status408RequestTimeout => ProblemTypes.RequestTimeout,
        StatusCodes.Status413PayloadTooLarge => ProblemTypes.BodyTooLarge,
        StatusCodes.Status414RequestUriTooLong => ProblemTypes.RequestLineTooLong,
        StatusCodes.Status415UnsupportedMediaType => ProblemTypes.UnsupportedMediaType,
        StatusCodes.Status431RequestHeaderFieldsTooLarge => ProblemTypes.HeadersTooLarge,
        StatusCodes.Status429TooManyRequests => ProblemTypes.RateLimited,
        StatusCodes.Status503ServiceUnavailable => ProblemTypes.Unavailable,
        >= 500 => ProblemTypes.Internal,
        _ => ProblemTypes.InvalidRequest,
    };

    /// <summary>Writes a problem as the response, from middleware that has no endpoint result to return.</summary>
    public static ValueTask WriteAsync(HttpContext context, int status, string type, string title, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail },
        });
    }

    /// <summary>400 for an <c>accountId</c> that is not an account id.</summary>
    public static ProblemHttpResult NotAnAccountId() => BadRequest("accountId must be 32 characters of lowercase base32.");

    /// <summary>A 400 saying what was wrong.</summary>
    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The request is invalid.", type: ProblemTypes.InvalidRequest);

    /// <summary>A problem of the given status and type.</summary>
    public static ProblemHttpResult Of(int status, string type, string title, string? detail = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, type: type);
}
