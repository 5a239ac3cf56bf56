namespace Pigeon.Api;

/// <summary>
/// The stable problem types of the API: the <c>type</c> of every RFC 9457 ProblemDetails a gateway
/// answers with. Clients switch on <c>type</c>; <c>title</c> and <c>detail</c> are for people.
/// </summary>
public static class ProblemTypes
{
    /// <summary>What every problem type of the API starts with.</summary>
    public const string Prefix = "urn:pigeon:problem:";

    /// <summary>The request is malformed or a value is out of range.</summary>
    public const string InvalidRequest = Prefix + "invalid-request";

    /// <summary>No bearer token was sent.</summary>
    public const string TokenMissing = Prefix + "token-missing";

    /// <summary>The bearer token is malformed or its signature does not verify.</summary>
    public const string TokenInvalid = Prefix + "token-invalid";

    /// <summary>The bearer token has expired.</summary>
    public const string TokenExpired = Prefix + "token-expired";

    /// <summary>The challenge signature is wrong, or the challenge is unknown, used or expired.</summary>
    public const string ChallengeFailed = Prefix + "challenge-failed";

    /// <summary>The account id does not match the keys, or a signature over keys does not verify.</summary>
    public const string KeyMismatch = Prefix + "key-mismatch";

    /// <summary>No account has this id.</summary>
    public const string AccountNotFound = Prefix + "account-not-found";

    /// <summary>The account id is registered with other keys.</summary>
    public const string AccountConflict = Prefix + "account-conflict";

    /// <summary>The account has not published prekeys yet.</summary>
    public const string PrekeysUnavailable = Prefix + "prekeys-unavailable";

    /// <summary>The account's one-time prekey pool is full.</summary>
    public const string PrekeyPoolFull = Prefix + "prekey-pool-full";

    /// <summary>A sealed deposit's delivery key was not accepted, or its recipient does not exist: the same answer for both.</summary>
    public const string DeliveryRefused = Prefix + "delivery-refused";

    /// <summary>409: a device list whose version is not above the stored one (a replay or a rollback).</summary>
    public const string DeviceListStale = Prefix + "device-list-stale";

    /// <summary>The recipient's mailbox is full.</summary>
    public const string MailboxFull = Prefix + "mailbox-full";

    /// <summary>The request body is larger than allowed.</summary>
    public const string BodyTooLarge = Prefix + "body-too-large";

    /// <summary>Too many requests; see <c>Retry-After</c>.</summary>
    public const string RateLimited = Prefix + "rate-limited";

    /// <summary>The cluster or the database is unreachable; try again.</summary>
    public const string Unavailable = Prefix + "unavailable";

    /// <summary>An unexpected error; nothing about it is disclosed.</summary>
    public const string Internal = Prefix + "internal";

    /// <summary>The route does not exist.</summary>
    public const string NotFound = Prefix + "not-found";

    /// <summary>The method is not allowed on this route.</summary>
    public const string MethodNotAllowed = Prefix + "method-not-allowed";

    /// <summary>The body is not JSON (<c>Content-Type: application/json</c>), or not in UTF-8.</summary>
    public const string UnsupportedMediaType = Prefix + "unsupported-media-type";

    /// <summary>The request (its head or its body) did not arrive in time.</summary>
    public const string RequestTimeout = Prefix + "request-timeout";

    /// <summary>The request line is longer than allowed.</summary>
    public const string RequestLineTooLong = Prefix + "request-line-too-long";

    /// <summary>The request's header fields are too many or too large.</summary>
    public const string HeadersTooLarge = Prefix + "headers-too-large";

    /// <summary>409: a deposit's devices for an account are not its list's (the <c>devices</c> extension says how).</summary>
    public const string DeviceMismatch = Prefix + "device-mismatch";

    /// <summary>410: a deposit addressed devices the account removed (the <c>devices</c> extension names them).</summary>
    public const string DevicesStale = Prefix + "devices-stale";

    /// <summary>403: the device was removed from its account: it can neither sign in nor deposit.</summary>
    public const string DeviceRemoved = Prefix + "device-removed";

    /// <summary>409: the provisioning slot already holds a message (a slot is single-use).</summary>
    public const string ProvisioningSlotUsed = Prefix + "provisioning-slot-used";

    /// <summary>Whether a bearer token problem: a new token (signing in again) may succeed where this one failed.</summary>
    public static bool IsTokenProblem(string? type) => type is TokenMissing or TokenInvalid or TokenExpired;

    /// <summary>413: the attachment is larger than one file may be (<c>Pigeon:Attachments:MaxFileBytes</c>).</summary>
    public const string AttachmentTooLarge = Prefix + "attachment-too-large";

    /// <summary>429: the account uploaded as many attachment bytes as it may in a day; see <c>Retry-After</c>.</summary>
    public const string AttachmentQuotaExceeded = Prefix + "attachment-quota-exceeded";

    /// <summary>409: the upload lacks chunks (complete), or is already complete (upload a chunk).</summary>
    public const string AttachmentConflict = Prefix + "attachment-conflict";
}
