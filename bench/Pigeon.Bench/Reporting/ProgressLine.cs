namespace Pigeon.Bench.Reporting;

/// <summary>
/// Calls a describer once a second until disposed and writes its line to standard error. Scenarios
/// also sample in the describer (the gateway's RSS, connections held), so it runs even when quiet.
/// </summary>
public sealed class ProgressLine : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>Starts calling <paramref name="describe"/>; prints what it returns unless <paramref name="quiet"/>.</summary>
    public ProgressLine(Func<string> describe, bool quiet, TimeProvider time)
    {
        _loop = LoopAsync(describe, quiet, time);
    }

    private async Task LoopAsync(Func<string> describe, bool quiet, TimeProvider time)
    {
        var start = time.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var line = describe();
                if (!quiet)
                {
                    await Console.Error.WriteLineAsync($"[{time.GetElapsedTime(start).TotalSeconds,6:0}s] {line}");
                }
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
