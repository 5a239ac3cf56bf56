using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Pigeon.Hosting.Telemetry;

namespace Pigeon.Gateway.Failover;

/// <summary>
/// Carries the gateway's idempotent grain calls through the loss of a silo. The Orleans client never
/// answers a request that was on a connection to a silo that died, nor one that a surviving silo had
/// forwarded to it: both wait for the 30 s response timeout. So this class is the client's
/// <see cref="IClusterConnectionStatusObserver"/>, told of every gateway connection that closes; a
/// call in flight at that moment is cancelled (a waiting receive on a surviving silo then answers at
/// once, with the cluster's client waiting for that answer) and given
/// <see cref="FailoverOptions.LossGrace"/> to answer; one that does not is taken as lost with the silo
/// and sent again. A call sent in the <see cref="FailoverOptions.RetryFor"/> after such a loss may still
/// be forwarded to the lost silo (until it is declared dead) with no later signal to tell of it, so it
/// gets the grace from the start: no answer within it and it is cancelled, given the grace once more,
/// and sent again. Calls the cluster refuses because of a lost silo
/// (<see cref="OrleansMessageRejectionException"/>, until the silo is declared dead and its grains can
/// start elsewhere) are sent again too, with a growing pause, for up to
/// <see cref="FailoverOptions.RetryFor"/>. Only for calls that are safe to repeat: deposits (by message
/// id), receives and acknowledgements.
/// </summary>
public sealed partial class GrainCallFailover(IOptions<FailoverOptions> options, TimeProvider time, IMeterFactory meters, ILogger<GrainCallFailover> logger)
    : IClusterConnectionStatusObserver
{
    private readonly Counter<long> _siloConnectionsLost = meters.Create(PigeonMeters.Failover)
        .CreateCounter<long>("pigeon.silo_connections.lost", "{connection}", "Connections to silos the Orleans client lost.");

    private readonly Counter<long> _grainCallsRetried = meters.Create(PigeonMeters.Failover)
        .CreateCounter<long>("pigeon.grain_calls.retried", "{call}", "Grain calls sent again after a silo was lost (reason lost) or refused them (reason refused).");

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);
    private TaskCompletionSource _nextLoss = NewLoss();
    private long _lastLoss;
    private int _inFlight;

    /// <summary>
    /// Runs <paramref name="call"/> (given the time since the first attempt, and a token that ends its
    /// wait) until it answers, sending it again as described above; <paramref name="aborted"/> ends it
    /// all. When the retries run out, the last failure is thrown, a lost call as a
    /// <see cref="SiloUnavailableException"/>.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<TimeSpan, CancellationToken, Task<T>> call, CancellationToken aborted)
    {
        ArgumentNullException.ThrowIfNull(call);
        var settings = options.Value;
        var started = time.GetTimestamp();
        var pause = FirstPause;
        Interlocked.Increment(ref _inFlight);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await AttemptAsync(call, time.GetElapsedTime(started), settings.LossGrace, LostRecently(settings), aborted);
                }
                catch (Exception exception) when (!aborted.IsCancellationRequested && IsWorthRetrying(exception)
                    && time.GetElapsedTime(started) + pause < settings.RetryFor)
                {
                    var reason = exception is SiloLostException ? "lost" : "refused";
                    _grainCallsRetried.Add(1, new KeyValuePair<string, object?>("reason", reason));
                    LogRetrying(reason, attempt, pause.TotalMilliseconds);
                    await Task.Delay(pause, time, aborted);
                    pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
                }
                catch (Exception exception) when (!aborted.IsCancellationRequested && exception is SiloLostException or OperationCanceledException)
                {
                    // Out of retries: answered as the cluster's own refusals are (503), not as a cancelled request.
                    throw new SiloUnavailableException(exception.Message);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways >= previousNumberOfGateways)
        {
            return;
        }

        // Runs on the connection's own thread: only completes a signal, whose awaiters resume elsewhere.
        Volatile.Write(ref _lastLoss, time.GetTimestamp());
        var lost = Interlocked.Exchange(ref _nextLoss, NewLoss());
        _siloConnectionsLost.Add(1);
        LogConnectionLost(previousNumberOfGateways, currentNumberOfGateways, Volatile.Read(ref _inFlight), options.Value.LossGrace.TotalSeconds);
        lost.TrySetResult();
    }

    /// <inheritdoc />
    public void NotifyClusterConnectionLost()
    {
        // The last connection closing is reported as a count change too.
    }

    private async Task<T> AttemptAsync<T>(Func<TimeSpan, CancellationToken, Task<T>> call, TimeSpan elapsed, TimeSpan grace, bool lostRecently,
        CancellationToken aborted)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // Read before the call goes out: a loss from here on may concern it. Soon after one, the call
        // may be bound for the lost silo already, and no answer within the grace counts as that loss.
        Task loss = Volatile.Read(ref _nextLoss).Task;
        if (lostRecently)
        {
            loss = Task.WhenAny(loss, Task.Delay(grace, time, aborted));
        }

        var answer = call(elapsed, attempt.Token);
        var awaited = false;
        try
        {
            if (await Task.WhenAny(answer, loss).WaitAsync(aborted) == answer)
            {
                awaited = true;
                return await answer;
            }

            // A silo's connection closed while this call was out. If the call is bound to that silo, no
            // answer will come; if not, cancelling makes a waiting receive answer now.
            await attempt.CancelAsync();
            var graceOver = Task.Delay(grace, time, aborted);
            if (await Task.WhenAny(answer, graceOver) == answer)
            {
                awaited = true;
                return await answer;
            }

            await graceOver;
            throw new SiloLostException();
        }
        finally
        {
            if (!awaited)
            {
                // The grain hears of it even when the request closing ended the wait before the linked
                // token did: that token's link to the request goes with its disposal below.
                await attempt.CancelAsync();
                // Left to Orleans' response timeout; its failure is of no interest any more.
                _ = answer.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    // A refusal means the grain never ran the call; a lost or cancelled call is safe to repeat for the
    // callers this class serves. A timeout has waited long enough, and anything else is the grain's answer.
    private static bool IsWorthRetrying(Exception exception) =>
        exception is SiloLostException or OrleansMessageRejectionException or OperationCanceledException;

    private static TaskCompletionSource NewLoss() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool LostRecently(FailoverOptions settings) =>
        Volatile.Read(ref _lastLoss) is var at and not 0 && time.GetElapsedTime(at) < settings.RetryFor;

    /// <summary>A call that did not answer within the grace after a silo's connection closed.</summary>
    private sealed class SiloLostException() : Exception("The call was in flight when a silo's connection closed and did not answer.");

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "A silo's gateway connection closed ({Previous} -> {Current} connected); {InFlight} grain calls in flight get {GraceSeconds} s to answer before they are sent again")]
    private partial void LogConnectionLost(int previous, int current, int inFlight, double graceSeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sending a grain call again ({Reason}, attempt {Attempt}) after {PauseMs} ms")]
    private partial void LogRetrying(string reason, int attempt, double pauseMs);
}
