using Pigeon.Api;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Tests.Grains;

/// <summary>The mailbox's envelope lifetime stays within what clients count on (<see cref="ApiLimits.MaxEnvelopeLifetimeDays"/>).</summary>
public sealed class MailboxOptionsTests
{
    [Fact]
    public void EnvelopeTtl_DefaultsToTheApisLifetime_AndLongerIsRefused()
    {
        var validator = new MailboxOptionsValidator();

        Assert.Equal(TimeSpan.FromDays(ApiLimits.MaxEnvelopeLifetimeDays), new MailboxOptions().EnvelopeTtl);
        Assert.True(validator.Validate(null, new MailboxOptions()).Succeeded);
        Assert.True(validator.Validate(null, new MailboxOptions { EnvelopeTtl = TimeSpan.FromDays(7) }).Succeeded);
        var refused = validator.Validate(null, new MailboxOptions { EnvelopeTtl = TimeSpan.FromDays(ApiLimits.MaxEnvelopeLifetimeDays) + TimeSpan.FromSeconds(1) });
        Assert.True(refused.Failed);
        Assert.Contains("EnvelopeTtl", refused.FailureMessage, StringComparison.Ordinal);
    }
}
