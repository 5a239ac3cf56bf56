using System.Net;
using System.Text.Json.Serialization;

namespace Pigeon.Api;

/// <summary>
/// The server answered with an error: an RFC 9457 problem with a stable <see cref="Type"/> (one of
/// <see cref="ProblemTypes"/>), or, from something in front of the gateway, a status alone. Also
/// thrown when a success carries a body that is not the API's JSON. A failure to reach the server
/// is not this: it stays an <see cref="HttpRequestException"/> or a <see cref="TimeoutException"/>.
/// </summary>
public sealed class PigeonApiException : Exception
{
    /// <summary>A problem the server answered with.</summary>
    public PigeonApiException(HttpStatusCode status, string? type, string? title, string? detail, TimeSpan? retryAfter = null, Exception? inner = null,
        IReadOnlyList<DeviceMismatch>? devices = null)
        : base(detail ?? title ?? $"{(int)status} {SpacedName(status)}", inner)
    {
        Status = status;
        Type = type;
        Title = title;
        Detail = detail;
        RetryAfter = retryAfter;
        Devices = devices ?? [];
    }

    /// <summary>
    /// For a deposit refused with <see cref="ProblemTypes.DeviceMismatch"/> (409) or
    /// <see cref="ProblemTypes.DevicesStale"/> (410): per account, how its devices differ from what was
    /// addressed; empty for every other problem.
    /// </summary>
    public IReadOnlyList<DeviceMismatch> Devices { get; }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem type, e.g. <see cref="ProblemTypes.AccountNotFound"/>; null when the answer carried none.</summary>
    public string? Type { get; }

    /// <summary>The problem's short summary, for people.</summary>
    public string? Title { get; }

    /// <summary>What was wrong in this request, for people.</summary>
    public string? Detail { get; }

    /// <summary>How long the server asked to wait before trying again (<c>Retry-After</c>), when it said.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// Whether trying again later may succeed: too many requests (429), or the gateway or what is
    /// behind it unavailable (502, 503, 504). Every request of the API is safe to repeat.
    /// </summary>
    public bool IsTransient => IsTransientStatus(Status);

    /// <summary>Whether an answer with this status may succeed when tried again later; see <see cref="IsTransient"/>.</summary>
    public static bool IsTransientStatus(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static string SpacedName(HttpStatusCode status) =>
        System.Text.RegularExpressions.Regex.Replace(status.ToString(), "(?<=[a-z])(?=[A-Z])", " ");

    /// <summary>How long <paramref name="response"/> asks to wait before trying again (<c>Retry-After</c>, as a delay or a date); null when it does not say.</summary>
    public static TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            // A date is read against the server's own clock, when it sent one.
            { Date: { } date } => TimeSpan.FromTicks(Math.Max(0, (date - (response.Headers.Date ?? DateTimeOffset.UtcNow)).Ticks)),
            _ => null,
        };
    }
}

/// <summary>
/// An RFC 9457 problem as the gateway writes it. Problems are extensible (RFC 9457 §3.2), so members
/// beyond these, such as <c>traceId</c>, are passed over rather than refused.
/// </summary>
/// <param name="Type">The problem type (<see cref="ProblemTypes"/>).</param>
/// <param name="Title">A short summary.</param>
/// <param name="Detail">What was wrong in this request.</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Devices">The devices a refused deposit got wrong (409 and 410 on the deposit routes only).</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Skip)]
public sealed record ApiProblem(string? Type = null, string? Title = null, string? Detail = null, int? Status = null, IReadOnlyList<DeviceMismatch>? Devices = null);
