using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pigeon.Hosting;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// Deletes expired envelopes of every mailbox, including mailboxes whose grain is not active, and
/// forgets acknowledged ids past their retention. Several silos may sweep at once: each statement
/// deletes a bounded batch, and deleting a row twice is harmless.
/// </summary>
internal sealed partial class ExpiredEnvelopeSweeper(
    EnvelopeStore store,
    IOptions<EnvelopeStoreOptions> storeOptions,
    IOptions<MailboxOptions> mailboxOptions,
    [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time,
    ILogger<ExpiredEnvelopeSweeper> logger) : BackgroundService
{
    /// <summary>Runs one sweep to completion; returns the envelopes and acknowledged ids deleted.</summary>
    public async Task<(int Envelopes, int AcknowledgedIds)> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var batch = storeOptions.Value.SweepBatch;
        int envelopes = 0, acknowledged = 0, deleted;
        do
        {
            deleted = await store.SweepExpiredAsync(time.GetUtcNow(), batch, cancellationToken);
            envelopes += deleted;
        }
        while (deleted == batch);

        var cutoff = time.GetUtcNow() - mailboxOptions.Value.AcknowledgedIdRetention;
        do
        {
            deleted = await store.SweepAcknowledgedAsync(cutoff, batch, cancellationToken);
            acknowledged += deleted;
        }
        while (deleted == batch);

        if (envelopes + acknowledged > 0)
        {
            LogSwept(envelopes, acknowledged);
        }

        return (envelopes, acknowledged);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(storeOptions.Value.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SweepOnceAsync(stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The next tick tries again; a database outage must not stop the silo.
                    LogSweepFailed(exception);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Envelopes} expired envelopes and {AcknowledgedIds} acknowledged ids past retention")]
    private partial void LogSwept(int envelopes, int acknowledgedIds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping expired envelopes failed")]
    private partial void LogSweepFailed(Exception exception);
}
