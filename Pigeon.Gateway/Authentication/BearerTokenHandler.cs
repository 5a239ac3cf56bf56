using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Errors;

namespace Pigeon.Gateway.Authentication;

/// <summary>
/// Authenticates <c>Authorization: Bearer</c> tokens issued by <see cref="TokenService"/>, and answers
/// failures with a ProblemDetails naming why (missing, invalid or expired). Tokens are never logged.
/// </summary>
internal sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenService tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "PigeonBearer";

    /// <summary>The claim holding the authenticated account id.</summary>
    public const string AccountClaim = "pigeon:account";

    /// <summary>The claim holding the authenticated device id (decimal).</summary>
    public const string DeviceClaim = "pigeon:device";

    private const string RejectionKey = "pigeon:token-rejection";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            Context.Items[RejectionKey] = TokenRejection.Invalid;
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header is not a bearer token."));
        }

        var rejection = tokens.Validate(header["Bearer ".Length..].Trim(), out var accountId, out var deviceId);
        if (rejection != TokenRejection.None)
        {
            Context.Items[RejectionKey] = rejection;
            return Task.FromResult(AuthenticateResult.Fail(rejection == TokenRejection.Expired ? "The token has expired." : "The token is invalid."));
        }

        var identity = new ClaimsIdentity(
            [new Claim(AccountClaim, accountId), new Claim(DeviceClaim, deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture))], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var (type, title, error) = Context.Items[RejectionKey] switch
        {
            TokenRejection.Expired => (ProblemTypes.TokenExpired, "The bearer token has expired; get a new one.", "invalid_token"),
            TokenRejection.Invalid => (ProblemTypes.TokenInvalid, "The bearer token is not valid.", "invalid_token"),
            _ => (ProblemTypes.TokenMissing, "A bearer token is required.", "invalid_request"),
        };
        Response.Headers.WWWAuthenticate = $"Bearer error=\"{error}\"";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, type, title);
    }
}

/// <summary>Reads the authenticated account and device from a request's user.</summary>
public static class AccountPrincipal
{
    /// <summary>The account id of the token's holder.</summary>
    public static string AccountId(this ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirstValue(BearerTokenHandler.AccountClaim)
            ?? throw new InvalidOperationException("The endpoint requires authorization but no account is authenticated.");
    }

    /// <summary>The device id of the token's holder.</summary>
    public static uint DeviceId(this ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return uint.TryParse(user.FindFirstValue(BearerTokenHandler.DeviceClaim), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var deviceId)
            ? deviceId
            : throw new InvalidOperationException("The endpoint requires authorization but no device is authenticated.");
    }

    /// <summary>The key of the token's holder's own mailbox.</summary>
    public static string MailboxKey(this ClaimsPrincipal user) => Grains.Abstractions.Mailboxes.MailboxKeys.Of(user.AccountId(), user.DeviceId());
}
