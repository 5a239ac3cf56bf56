using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pigeon.Grains.Abstractions;
using Pigeon.Hosting;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// Commits the deposits and acknowledgements of all mailboxes on this silo (group commit):
/// operations that arrive while a transaction is in flight wait and are written together by the next
/// one, so the number of round trips and fsyncs stays flat as concurrency grows. A single writer also
/// keeps sequence numbers in commit order, which receives rely on: a cursor never skips an envelope
/// that commits later. When traces are recorded, each commit is a span (<c>pigeon.mailbox.commit</c>,
/// with PostgreSQL's commands under it) linked to the trace of every operation it wrote, so a slow
/// deposit can be followed from its request into the commit that made it durable.
/// </summary>
internal sealed partial class EnvelopeWriter(
    EnvelopeStore store,
    IOptions<EnvelopeStoreOptions> storeOptions,
    [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time,
    MailboxMetrics metrics,
    ILogger<EnvelopeWriter> logger) : BackgroundService
{
    private static readonly ActivitySource Traces = new(MailboxMetrics.MeterName);

    private readonly Channel<PendingOperation> _queue = Channel.CreateUnbounded<PendingOperation>(
        new UnboundedChannelOptions { SingleReader = true });

    /// <summary>
    /// Stores one envelope. The returned task completes as the commit is reported, before any
    /// continuation runs: a caller may check <see cref="Task.IsCompleted"/> to learn that
    /// the envelope is committed even if its own continuation has not run yet.
    /// </summary>
    public Task<StoredEnvelope> WriteAsync(EnvelopeToStore envelope)
    {
        var pending = new PendingDeposit(envelope);
        return Enqueue(pending) ? pending.Completion.Task : Task.FromException<StoredEnvelope>(ShuttingDown());
    }

    /// <summary>Deletes one mailbox's acknowledged envelopes; completes when the deletion has committed.</summary>
    public Task<AcknowledgedEnvelopes> AcknowledgeAsync(EnvelopesToAcknowledge acknowledgement)
    {
        var pending = new PendingAcknowledgement(acknowledgement);
        return Enqueue(pending) ? pending.Completion.Task : Task.FromException<AcknowledgedEnvelopes>(ShuttingDown());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingOperation>(storeOptions.Value.MaxGroupCommitBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < storeOptions.Value.MaxGroupCommitBatch && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                await CommitAsync(batch, stoppingToken);
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
                pending.Fail(ShuttingDown());
            }
        }
    }

    private bool Enqueue(PendingOperation pending) => _queue.Writer.TryWrite(pending);

    private static ServiceUnavailableException ShuttingDown() => new("The silo is shutting down.");

    private async Task CommitAsync(List<PendingOperation> batch, CancellationToken stoppingToken)
    {
        var deposits = batch.OfType<PendingDeposit>().ToList();
        var acks = batch.OfType<PendingAcknowledgement>().ToList();
        var startedAt = Stopwatch.GetTimestamp();
        foreach (var pending in batch)
        {
            metrics.Waited(pending.EnqueuedAt, startedAt);
        }

        // One commit serves many requests, so it is a trace of its own, linked to each of theirs.
        using var activity = Traces.HasListeners()
            ? Traces.StartActivity("pigeon.mailbox.commit", ActivityKind.Internal, parentContext: default,
                links: [.. batch.Where(p => p.Trace != default).Select(p => new ActivityLink(p.Trace))])
            : null;
        activity?.SetTag("pigeon.mailbox.commit.deposits", deposits.Count);
        activity?.SetTag("pigeon.mailbox.commit.acknowledgements", acks.Count);
        try
        {
            var outcome = await store.CommitAsync(
                [.. acks.Select(a => a.Acknowledgement)], [.. deposits.Select(d => d.Envelope)],
                time.GetUtcNow(), stoppingToken);
            metrics.Committed(startedAt, batch.Count);
            for (var i = 0; i < deposits.Count; i++)
            {
                deposits[i].Completion.TrySetResult(outcome.Stored[i]);
            }

            for (var i = 0; i < acks.Count; i++)
            {
                acks[i].Completion.TrySetResult(outcome.Acknowledged[i]);
            }

            LogBatchCommitted(deposits.Count, acks.Count);
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error);
            metrics.Failed();
            LogBatchFailed(exception, deposits.Count, acks.Count);
            foreach (var pending in batch)
            {
                pending.Fail(exception);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Committed {Deposits} envelopes and {Acknowledgements} acknowledgements in one transaction")]
    private partial void LogBatchCommitted(int deposits, int acknowledgements);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Deposits} envelopes and {Acknowledgements} acknowledgements failed")]
    private partial void LogBatchFailed(Exception exception, int deposits, int acknowledgements);

    private abstract class PendingOperation
    {
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

        /// <summary>The trace of the request that asked for this operation; none when traces are not recorded.</summary>
        public ActivityContext Trace { get; } = Activity.Current?.Context ?? default;

        public abstract void Fail(Exception exception);
    }

    private sealed class PendingDeposit(EnvelopeToStore envelope) : PendingOperation
    {
        public EnvelopeToStore Envelope { get; } = envelope;

        // Continuations run asynchronously so that the writer's loop never runs grain code.
        public TaskCompletionSource<StoredEnvelope> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception exception) => Completion.TrySetException(exception);
    }

    private sealed class PendingAcknowledgement(EnvelopesToAcknowledge acknowledgement) : PendingOperation
    {
        public EnvelopesToAcknowledge Acknowledgement { get; } = acknowledgement;

        public TaskCompletionSource<AcknowledgedEnvelopes> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
