using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Gateway.Attachments;

/// <summary>Attachment storage and its limits, bound from <c>Pigeon:Attachments</c>. Every limit answers with a ProblemDetails.</summary>
public sealed class AttachmentsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Attachments";

    /// <summary>The largest attachment (ciphertext, padding included), in bytes; larger ones get a 413. Default 100 MiB plus the cipher's overhead.</summary>
    public long MaxFileBytes { get; set; } = DefaultMaxFileBytes;

    /// <summary>The most attachment bytes one account may declare in any 24 hours; more get a 429. Default 1 GiB.</summary>
    public long BytesPerDay { get; set; } = 1024L * 1024 * 1024;

    /// <summary>How long a completed attachment is kept, unless the upload asks for less. Default 30 days.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long an upload may stay incomplete before it is deleted. Default 1 day.</summary>
    public TimeSpan IncompleteLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often expired and abandoned uploads are deleted. Default 10 minutes.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The most database connections the attachment store opens. Default 16.</summary>
    public int DatabasePoolSize { get; set; } = 16;

    /// <summary>100 MiB of plaintext, padded (about 5 %) and with a tag per 64 KiB chunk.</summary>
    internal const long DefaultMaxFileBytes = 110L * 1024 * 1024;
}

internal sealed class AttachmentsOptionsValidator : IValidateOptions<AttachmentsOptions>
{
    public ValidateOptionsResult Validate(string? name, AttachmentsOptions options)
    {
        var problems = new OptionsProblems(AttachmentsOptions.Section);
        problems.Require(options.MaxFileBytes is > 0 and <= 16L * 1024 * 1024 * 1024, nameof(options.MaxFileBytes), "must be between 1 and 16 GiB.");
        problems.Require(options.BytesPerDay >= options.MaxFileBytes, nameof(options.BytesPerDay), "must be at least MaxFileBytes.");
        problems.Require(options.Lifetime > TimeSpan.Zero && options.Lifetime <= TimeSpan.FromDays(365), nameof(options.Lifetime), "must be between 0 and 365 days.");
        problems.Require(options.IncompleteLifetime > TimeSpan.Zero && options.IncompleteLifetime <= options.Lifetime,
            nameof(options.IncompleteLifetime), "must be above 0 and at most Lifetime.");
        problems.Require(options.SweepInterval >= TimeSpan.FromSeconds(1) && options.SweepInterval <= TimeSpan.FromDays(1), nameof(options.SweepInterval), "must be between 1 second and 1 day.");
        problems.Require(options.DatabasePoolSize is >= 1 and <= 1000, nameof(options.DatabasePoolSize), "must be between 1 and 1000.");
        return problems.Result();
    }
}
