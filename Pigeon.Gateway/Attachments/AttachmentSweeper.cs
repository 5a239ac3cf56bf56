using Microsoft.Extensions.Options;
using Pigeon.Hosting;
using Pigeon.Hosting.Database;

namespace Pigeon.Gateway.Attachments;

/// <summary>
/// Deletes expired attachments and uploads abandoned before completion, every
/// <see cref="AttachmentsOptions.SweepInterval"/>. Every gateway replica sweeps; a delete that
/// another already did deletes nothing, so they need no coordination.
/// </summary>
internal sealed partial class AttachmentSweeper(
    IAttachmentStore store, IOptions<AttachmentsOptions> options, [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider clock,
    ILogger<AttachmentSweeper> logger) : BackgroundService
{
    /// <summary>Sweeps once, now.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var deleted = await store.SweepAsync(now, now - options.Value.IncompleteLifetime, ct);
        if (deleted > 0)
        {
            LogSwept(logger, deleted);
        }

        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (PigeonDatabase.IsTransient(exception))
            {
                LogSweepFailed(logger, exception);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} expired or abandoned attachments")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The attachment sweep failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
