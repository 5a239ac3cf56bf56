using System.Diagnostics;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// Ends a server process with SIGKILL at a given second of a phase (<c>--kill-pid</c>, <c>--kill-at</c>),
/// as an OOM kill or a crash would, and judges afterwards how the service came back.
/// </summary>
public static class ProcessKill
{
    /// <summary>
    /// Waits until <paramref name="at"/> into <paramref name="phase"/>, kills <paramref name="pid"/> and
    /// notes the moment in the phase; cancelling <paramref name="cancellationToken"/> first calls the kill off.
    /// </summary>
    public static async Task AtAsync(int pid, TimeSpan at, Phase phase, CancellationToken cancellationToken)
    {
        var delay = at - phase.Elapsed;
        try
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, phase.Time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        using var process = Process.GetProcessById(pid);
        // Process.Kill sends SIGKILL on Linux: no shutdown code runs, connections are reset by the kernel.
        process.Kill();
        phase.Stalls.Killed(phase.Time.GetTimestamp());
    }

    /// <summary>
    /// When answered deposits and deliveries per second were back at <paramref name="rate"/> after the
    /// kill (<see cref="RateRecovery"/>), judged up to <paramref name="steadyUntil"/> into the phase.
    /// </summary>
    public static KillResult Judge(int pid, Phase phase, double rate, TimeSpan steadyUntil)
    {
        var killedAt = phase.Stalls.KilledAt is { } at ? phase.Time.GetElapsedTime(phase.StartTimestamp, at).TotalSeconds : (double?)null;
        if (killedAt is not { } kill)
        {
            return new KillResult(pid, null, null, null);
        }

        var points = phase.Timeline.Points((int)Math.Ceiling(phase.Elapsed.TotalSeconds));
        var until = (int)Math.Floor(steadyUntil.TotalSeconds);
        return new KillResult(pid, kill,
            RateRecovery.SecondsUntilBack([.. points.Select(p => p.Sent)], kill, until, rate),
            RateRecovery.SecondsUntilBack([.. points.Select(p => p.Delivered)], kill, until, rate));
    }

    /// <summary>Why <paramref name="pid"/> cannot be killed, or null when it is a running process.</summary>
    public static string? Problem(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited ? $"--kill-pid {pid} has exited." : null;
        }
        catch (ArgumentException)
        {
            return $"--kill-pid {pid} is not a running process.";
        }
    }
}
