using System.Collections.Concurrent;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Server.Benchmarks;

/// <summary>
/// What group commit is measured against, kept here since the product has one write path: each
/// deposit its own transaction, through the store's own statement. One mailbox's deposits commit
/// one at a time, as a mailbox would have to without the single writer, so that its sequence
/// numbers follow commit order (ADR 0001).
/// </summary>
internal sealed class OneCommitPerDeposit(EnvelopeStore store)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _mailboxes = new(StringComparer.Ordinal);

    public async Task<StoredEnvelope> WriteAsync(EnvelopeToStore envelope)
    {
        var mailbox = _mailboxes.GetOrAdd(envelope.MailboxId, _ => new SemaphoreSlim(1, 1));
        await mailbox.WaitAsync();
        try
        {
            var outcome = await store.CommitAsync([], [envelope], DateTimeOffset.UtcNow, CancellationToken.None);
            return outcome.Stored[0];
        }
        finally
        {
            mailbox.Release();
        }
    }
}
