using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// Limits and lifetimes of mailboxes, bound from configuration section <c>Pigeon:Mailbox</c>. The limits
/// that the HTTP API states default to <see cref="ApiLimits"/>, like the gateway's own.
/// </summary>
public sealed class MailboxOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Mailbox";

    /// <summary>The longest a receive may wait: below Orleans' 30 s response timeout.</summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(ApiLimits.MaxWaitSeconds);

    /// <summary>How long an envelope waits for its recipient before it expires. Default and most: 30 days (<see cref="ApiLimits.MaxEnvelopeLifetimeDays"/>).</summary>
    public TimeSpan EnvelopeTtl { get; set; } = TimeSpan.FromDays(ApiLimits.MaxEnvelopeLifetimeDays);

    /// <summary>The most envelopes a mailbox holds; deposits past it are refused. Default 10,000.</summary>
    public int MaxEnvelopes { get; set; } = 10_000;

    /// <summary>The most payload bytes a mailbox holds; deposits past it are refused. Default 100 MiB.</summary>
    public long MaxBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>The largest payload one envelope may carry. Default 64 KiB.</summary>
    public int MaxPayloadBytes { get; set; } = ApiLimits.MaxEnvelopeBytes;

    /// <summary>The longest a receive waits for a deposit; at most 25 s. Default 25 s.</summary>
    public TimeSpan MaxWait { get; set; } = LongestWait;

    /// <summary>The most envelopes one receive returns. Default 100, as the gateway's <c>Pigeon:Limits:MaxReceiveEnvelopes</c>: raise both together.</summary>
    public int MaxReceiveBatch { get; set; } = ApiLimits.MaxReceiveBatch;

    /// <summary>The most message ids one acknowledgement may carry. Default 1,000.</summary>
    public int MaxAckBatch { get; set; } = ApiLimits.MaxAckBatch;

    /// <summary>
    /// The most unacknowledged envelopes one sender may leave in a mailbox on the identified route
    /// (contacts deposit sealed and are not counted). Default 100.
    /// </summary>
    public int MaxPendingPerIdentifiedSender { get; set; } = 100;

    /// <summary>
    /// How long the ids of acknowledged envelopes are remembered, so that a sender's retry after
    /// delivery is recognised and not delivered again. Default 7 days.
    /// </summary>
    public TimeSpan AcknowledgedIdRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How many of its newest envelopes an active mailbox keeps in memory to serve receives that
    /// keep up without reading the table; 0 turns this off. Default 64.
    /// </summary>
    public int RecentEnvelopesHeld { get; set; } = 64;

    /// <summary>The most payload bytes an active mailbox keeps in memory for those receives. Default 64 KiB.</summary>
    public long RecentEnvelopeBytesHeld { get; set; } = 64 * 1024;
}

internal sealed class MailboxOptionsValidator : IValidateOptions<MailboxOptions>
{
    public ValidateOptionsResult Validate(string? name, MailboxOptions options)
    {
        var problems = new OptionsProblems(MailboxOptions.Section);
        problems.Require(options.EnvelopeTtl > TimeSpan.Zero && options.EnvelopeTtl <= TimeSpan.FromDays(ApiLimits.MaxEnvelopeLifetimeDays), nameof(options.EnvelopeTtl),
            $"must be positive and at most {ApiLimits.MaxEnvelopeLifetimeDays} days (clients keep the prekeys of first messages that long).");
        problems.Require(options.MaxEnvelopes > 0, nameof(options.MaxEnvelopes), "must be at least 1.");
        problems.Require(options.MaxPendingPerIdentifiedSender > 0, nameof(options.MaxPendingPerIdentifiedSender), "must be at least 1.");
        problems.Require(options.MaxBytes > 0, nameof(options.MaxBytes), "must be at least 1.");
        problems.Require(options.MaxPayloadBytes > 0, nameof(options.MaxPayloadBytes), "must be at least 1.");
        problems.Require(options.MaxPayloadBytes <= options.MaxBytes, nameof(options.MaxPayloadBytes), "must not exceed MaxBytes.");
        problems.Require(
            options.MaxWait >= TimeSpan.Zero && options.MaxWait <= MailboxOptions.LongestWait,
            nameof(options.MaxWait),
            $"must be between 0 and {MailboxOptions.LongestWait.TotalSeconds:0} seconds (Orleans answers calls within 30 s).");
        problems.Require(options.MaxReceiveBatch > 0, nameof(options.MaxReceiveBatch), "must be at least 1.");
        problems.Require(options.MaxAckBatch > 0, nameof(options.MaxAckBatch), "must be at least 1.");
        problems.Require(options.AcknowledgedIdRetention >= TimeSpan.Zero, nameof(options.AcknowledgedIdRetention), "must not be negative.");
        problems.Require(options.RecentEnvelopesHeld >= 0, nameof(options.RecentEnvelopesHeld), "must not be negative.");
        problems.Require(options.RecentEnvelopeBytesHeld >= 0, nameof(options.RecentEnvelopeBytesHeld), "must not be negative.");
        return problems.Result();
    }
}

/// <summary>How envelopes are written, bound from configuration section <c>Pigeon:EnvelopeStore</c>.</summary>
public sealed class EnvelopeStoreOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:EnvelopeStore";

    /// <summary>The most envelopes one group commit writes. Default 512.</summary>
    public int MaxGroupCommitBatch { get; set; } = 512;

    /// <summary>How often expired envelopes and old acknowledged ids are deleted. Default 5 minutes.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most rows one sweep statement deletes. Default 5,000.</summary>
    public int SweepBatch { get; set; } = 5_000;
}

internal sealed class EnvelopeStoreOptionsValidator : IValidateOptions<EnvelopeStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, EnvelopeStoreOptions options)
    {
        var problems = new OptionsProblems(EnvelopeStoreOptions.Section);
        problems.Require(options.MaxGroupCommitBatch is > 0 and <= 10_000, nameof(options.MaxGroupCommitBatch), "must be between 1 and 10000.");
        problems.Require(options.SweepInterval > TimeSpan.Zero, nameof(options.SweepInterval), "must be positive.");
        problems.Require(options.SweepBatch > 0, nameof(options.SweepBatch), "must be at least 1.");
        return problems.Result();
    }
}
