using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Hosting.Cluster;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Gateway.Hosting;

/// <summary>
/// The gateway's own part of <c>Pigeon:Cluster</c>; the cluster's ids are
/// <see cref="PigeonClusterOptions"/>, in the same section. The gateway finds the silos through the
/// ADO.NET membership table (connection string <c>ConnectionStrings:Pigeon</c>) unless
/// <see cref="StaticGateways"/> lists silo gateway endpoints.
/// </summary>
public sealed class GatewayClusterOptions
{
    /// <summary>The configuration section, shared with <see cref="PigeonClusterOptions"/>.</summary>
    public const string Section = PigeonClusterOptions.Section;

    /// <summary>Silo gateway endpoints (<c>host:port</c>) to use instead of the membership table; for tests.</summary>
    public List<string> StaticGateways { get; set; } = [];
}

/// <summary>Bearer tokens and challenges, bound from <c>Pigeon:Auth</c>.</summary>
public sealed class AuthOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Auth";

    /// <summary>
    /// The key (base64, at least 32 bytes) that signs new tokens. Every gateway replica needs the
    /// same one; keep it in a secret (environment <c>Pigeon__Auth__TokenSigningKey</c>).
    /// </summary>
    public string TokenSigningKey { get; set; } = "";

    /// <summary>The key that signed tokens before the last rotation; its tokens are still accepted. Optional.</summary>
    public string? PreviousTokenSigningKey { get; set; }

    /// <summary>How long a token is valid. Default 1 hour.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a challenge may be answered. Default 2 minutes.</summary>
    public TimeSpan ChallengeLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The origins clients reach this server at (e.g. <c>https://pigeon.example.com</c>): a sign-in
    /// counts only when the challenge was signed for one of them (<see cref="ChallengeBinding"/>), so a
    /// relay under another name cannot use what a client signed for it. Default none: the origin each
    /// request arrives at (its scheme and <c>Host</c>), which a relay chooses itself; for local use only.
    /// </summary>
    public List<string> Origins { get; set; } = [];
}

/// <summary>Request limits, bound from <c>Pigeon:Limits</c>. Every limit answers with a ProblemDetails.</summary>
public sealed class LimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Limits";

    /// <summary>The largest envelope payload, in bytes (before base64). Default 64 KiB.</summary>
    public int MaxEnvelopeBytes { get; set; } = ApiLimits.MaxEnvelopeBytes;

    /// <summary>The most envelopes one deposit request may carry. Default 100.</summary>
    public int MaxBatchEnvelopes { get; set; } = ApiLimits.MaxDepositBatch;

    /// <summary>The largest request body, in bytes. Default 2 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// The longest request line (method, target with its query, version), in bytes; longer ones get
    /// a 414 problem. Kestrel itself refuses lines over twice this, with an empty 414. Default 8 KiB.
    /// </summary>
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>
    /// The most bytes of header fields one request may carry; more get a 431 problem. Kestrel itself
    /// refuses over twice this, with an empty 431. Default 32 KiB.
    /// </summary>
    public int MaxRequestHeaderBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// The most header fields one request may carry; more get a 431 problem. Kestrel itself refuses
    /// over twice this, with an empty 431. Default 100.
    /// </summary>
    public int MaxRequestHeaders { get; set; } = 100;

    /// <summary>The most envelopes one receive returns. Default 100.</summary>
    public int MaxReceiveEnvelopes { get; set; } = ApiLimits.MaxReceiveBatch;

    /// <summary>The longest a receive may wait, in seconds; at most 25 (<see cref="ApiLimits.MaxWaitSeconds"/>). Default 25.</summary>
    public int MaxWaitSeconds { get; set; } = ApiLimits.MaxWaitSeconds;

    /// <summary>The most message ids one acknowledgement may carry. Default 1,000.</summary>
    public int MaxAckIds { get; set; } = ApiLimits.MaxAckBatch;

    /// <summary>The most one-time prekeys of each kind one upload may carry. Default 200.</summary>
    public int MaxPrekeysPerUpload { get; set; } = ApiLimits.MaxPrekeysPerUpload;

    /// <summary>Requests per second one account may make (token bucket refill). Default 50.</summary>
    public int AccountRequestsPerSecond { get; set; } = 50;

    /// <summary>Requests one account may make in a burst (token bucket size). Default 200.</summary>
    public int AccountBurst { get; set; } = 200;

    /// <summary>Unauthenticated requests (register, challenge, token) per minute from one IP address. Default 60.</summary>
    public int AnonymousRequestsPerMinute { get; set; } = 60;

    /// <summary>Long-polls one device may have open at once on one gateway. Default 4.</summary>
    public int MaxConcurrentLongPolls { get; set; } = 4;

    /// <summary>
    /// Prekey bundles one account may fetch per minute, on one gateway. Each fetch consumes one of the
    /// other account's one-time prekeys, so this is far below the general request rate. Default 30.
    /// </summary>
    public int BundleFetchesPerMinute { get; set; } = 30;

    /// <summary>Sealed deposits per second into one recipient's mailbox, per gateway (token bucket; it has no sender to key on). Default 20.</summary>
    public int SealedDepositsPerSecondPerRecipient { get; set; } = 20;

    /// <summary>The burst of sealed deposits one recipient's mailbox takes, per gateway. Default 200.</summary>
    public int SealedDepositBurstPerRecipient { get; set; } = 200;
}

/// <summary>
/// Which proxies may tell the gateway a client's address (<c>X-Forwarded-For</c>), bound from
/// <c>Pigeon:ForwardedHeaders</c>. The address keys the per-address limit on registration and
/// sign-in: behind an ingress every request would otherwise come from the ingress's own address.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:ForwardedHeaders";

    /// <summary>
    /// Networks (CIDR, e.g. <c>10.0.0.0/8</c>) of the proxies in front of the gateway. Only a request
    /// arriving from one of them has its <c>X-Forwarded-For</c> honoured. Default none: the header is
    /// ignored, so a client cannot choose its own address.
    /// </summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many trusted proxies in a row to look behind (entries taken from the right of <c>X-Forwarded-For</c>). Default 1.</summary>
    public int ForwardLimit { get; set; } = 1;
}

internal sealed class GatewayOptionsValidator :
    IValidateOptions<AuthOptions>, IValidateOptions<LimitsOptions>, IValidateOptions<GatewayClusterOptions>,
    IValidateOptions<ForwardedHeadersSettings>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var problems = new OptionsProblems(AuthOptions.Section);
        problems.Require(IsKey(options.TokenSigningKey), nameof(options.TokenSigningKey),
            "must be set to a base64 key of at least 32 bytes (e.g. `openssl rand -base64 32`), the same on every gateway.");
        problems.Require(options.PreviousTokenSigningKey is null or "" || IsKey(options.PreviousTokenSigningKey),
            nameof(options.PreviousTokenSigningKey), "must be empty or a base64 key of at least 32 bytes.");
        problems.Require(options.TokenLifetime > TimeSpan.Zero && options.TokenLifetime <= TimeSpan.FromDays(1),
            nameof(options.TokenLifetime), "must be between 0 and 1 day.");
        problems.Require(options.ChallengeLifetime > TimeSpan.Zero && options.ChallengeLifetime <= TimeSpan.FromMinutes(10),
            nameof(options.ChallengeLifetime), "must be between 0 and 10 minutes.");
        problems.Require(options.Origins.All(IsOrigin), nameof(options.Origins),
            "must be origins like https://pigeon.example.com (http or https, a host, an optional port, no path).");
        return problems.Result();
    }

    public ValidateOptionsResult Validate(string? name, LimitsOptions options)
    {
        var problems = new OptionsProblems(LimitsOptions.Section);
        problems.Require(options.MaxEnvelopeBytes > 0, nameof(options.MaxEnvelopeBytes), "must be at least 1.");
        problems.Require(options.MaxBatchEnvelopes > 0, nameof(options.MaxBatchEnvelopes), "must be at least 1.");
        problems.Require(options.MaxRequestBodyBytes >= 1024, nameof(options.MaxRequestBodyBytes), "must be at least 1024.");
        problems.Require(options.MaxRequestLineBytes is >= 1024 and <= 1024 * 1024, nameof(options.MaxRequestLineBytes), "must be between 1024 and 1048576.");
        problems.Require(options.MaxRequestHeaderBytes is >= 1024 and <= 1024 * 1024, nameof(options.MaxRequestHeaderBytes), "must be between 1024 and 1048576.");
        problems.Require(options.MaxRequestHeaders is >= 10 and <= 10_000, nameof(options.MaxRequestHeaders), "must be between 10 and 10000.");
        problems.Require(options.MaxReceiveEnvelopes > 0, nameof(options.MaxReceiveEnvelopes), "must be at least 1.");
        problems.Require(options.MaxWaitSeconds is >= 0 and <= ApiLimits.MaxWaitSeconds, nameof(options.MaxWaitSeconds),
            $"must be between 0 and {ApiLimits.MaxWaitSeconds} (Orleans answers within 30 s).");
        problems.Require(options.MaxAckIds > 0, nameof(options.MaxAckIds), "must be at least 1.");
        problems.Require(options.MaxPrekeysPerUpload > 0, nameof(options.MaxPrekeysPerUpload), "must be at least 1.");
        problems.Require(options.AccountRequestsPerSecond > 0, nameof(options.AccountRequestsPerSecond), "must be at least 1.");
        problems.Require(options.AccountBurst > 0, nameof(options.AccountBurst), "must be at least 1.");
        problems.Require(options.AnonymousRequestsPerMinute > 0, nameof(options.AnonymousRequestsPerMinute), "must be at least 1.");
        problems.Require(options.MaxConcurrentLongPolls > 0, nameof(options.MaxConcurrentLongPolls), "must be at least 1.");
        problems.Require(options.BundleFetchesPerMinute > 0, nameof(options.BundleFetchesPerMinute), "must be at least 1.");
        problems.Require(options.SealedDepositsPerSecondPerRecipient > 0, nameof(options.SealedDepositsPerSecondPerRecipient), "must be at least 1.");
        problems.Require(options.SealedDepositBurstPerRecipient > 0, nameof(options.SealedDepositBurstPerRecipient), "must be at least 1.");
        return problems.Result();
    }

    public ValidateOptionsResult Validate(string? name, GatewayClusterOptions options)
    {
        var problems = new OptionsProblems(GatewayClusterOptions.Section);
        problems.Require(options.StaticGateways.All(g => System.Net.IPEndPoint.TryParse(g, out _)), nameof(options.StaticGateways), "must be ip:port endpoints.");
        return problems.Result();
    }

    public ValidateOptionsResult Validate(string? name, ForwardedHeadersSettings options)
    {
        var problems = new OptionsProblems(ForwardedHeadersSettings.Section);
        problems.Require(options.KnownNetworks.All(n => System.Net.IPNetwork.TryParse(n, out _)), nameof(options.KnownNetworks),
            "must be networks in CIDR notation, e.g. 10.0.0.0/8.");
        problems.Require(options.ForwardLimit is >= 1 and <= 10, nameof(options.ForwardLimit), "must be between 1 and 10.");
        return problems.Result();
    }

    private static bool IsOrigin(string? value) =>
        value is not null && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;

    internal static bool IsKey(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var buffer = new byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out var length) && length >= 32;
    }
}
