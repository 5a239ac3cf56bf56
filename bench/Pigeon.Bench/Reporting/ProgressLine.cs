namespace Pigeon.Bench.Reporting;

/// <summary>Writes a status line to standard error once a second until disposed.</summary>
public sealed class ProgressLine : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>Starts printing what <paramref name="describe"/> returns; prints nothing when <paramref name="quiet"/>.</summary>
    public ProgressLine(Func<string> describe, bool quiet, TimeProvider time)
    {
        _loop = quiet ? Task.CompletedTask : LoopAsync(describe, time);
    }

    private async Task LoopAsync(Func<string> describe, TimeProvider time)
    {
        var start = time.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await Console.Error.WriteLineAsync($"[{time.GetElapsedTime(start).TotalSeconds,6:0}s] {describe()}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
