using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pigeon.Grains.Abstractions;
using Pigeon.Grains.Hosting;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// Commits the deposits of all mailboxes on this silo. With group commit on, deposits that arrive
/// while a transaction is in flight wait and are written together by the next one, so the number of
/// round trips and fsyncs stays flat as concurrency grows. A single writer also keeps sequence
/// numbers in commit order, which receives rely on: a cursor never skips an envelope that commits later.
/// </summary>
internal sealed partial class EnvelopeWriter(
    EnvelopeStore store,
    IOptions<EnvelopeStoreOptions> storeOptions,
    IOptions<MailboxOptions> mailboxOptions,
    [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time,
    ILogger<EnvelopeWriter> logger) : BackgroundService
{
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(
        new UnboundedChannelOptions { SingleReader = true });

    private long _transactionsCommitted;

    /// <summary>How many transactions have committed envelopes since start: the deposits shared them.</summary>
    public long TransactionsCommitted => Interlocked.Read(ref _transactionsCommitted);

    /// <summary>Whether deposits are committed in groups; without, callers keep one mailbox's deposits in order.</summary>
    public bool GroupCommit => storeOptions.Value.GroupCommit;

    /// <summary>Stores one envelope; completes when its transaction has committed.</summary>
    public async Task<StoredEnvelope> WriteAsync(EnvelopeToStore envelope, CancellationToken cancellationToken)
    {
        if (!storeOptions.Value.GroupCommit)
        {
            var stored = await store.InsertAsync([envelope], time.GetUtcNow(), mailboxOptions.Value.EnvelopeTtl, cancellationToken);
            Interlocked.Increment(ref _transactionsCommitted);
            return stored[0];
        }

        var pending = new PendingWrite(envelope);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ServiceUnavailableException("The silo is shutting down.");
        }

        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingWrite>(storeOptions.Value.MaxGroupCommitBatch);
        var envelopes = new List<EnvelopeToStore>(storeOptions.Value.MaxGroupCommitBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                envelopes.Clear();
                while (batch.Count < storeOptions.Value.MaxGroupCommitBatch && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                    envelopes.Add(pending.Envelope);
                }

                await CommitAsync(batch, envelopes, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var pending))
            {
                pending.Completion.TrySetException(new ServiceUnavailableException("The silo is shutting down."));
            }
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch, List<EnvelopeToStore> envelopes, CancellationToken stoppingToken)
    {
        try
        {
            var stored = await store.InsertAsync(envelopes, time.GetUtcNow(), mailboxOptions.Value.EnvelopeTtl, stoppingToken);
            Interlocked.Increment(ref _transactionsCommitted);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(stored[i]);
            }

            LogBatchCommitted(batch.Count);
        }
        catch (Exception exception)
        {
            LogBatchFailed(exception, batch.Count);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(exception);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Committed {Count} envelopes in one transaction")]
    private partial void LogBatchCommitted(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Count} envelopes failed")]
    private partial void LogBatchFailed(Exception exception, int count);

    private sealed class PendingWrite(EnvelopeToStore envelope)
    {
        public EnvelopeToStore Envelope { get; } = envelope;

        public TaskCompletionSource<StoredEnvelope> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
