using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Pigeon.Gateway.Failover;
using Pigeon.Grains.Abstractions.Mailboxes;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// <see cref="GrainCallFailover"/> on calls that stand in for grain calls, with the loss of a silo's
/// gateway connection reported as the Orleans client reports it; real time, in tenths of seconds.
/// </summary>
public sealed class GrainCallFailoverTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static GrainCallFailover NewFailover(double graceSeconds = 0.2, double retryForSeconds = 10) =>
        new(Options.Create(new FailoverOptions { LossGrace = TimeSpan.FromSeconds(graceSeconds), RetryFor = TimeSpan.FromSeconds(retryForSeconds) }),
            TimeProvider.System, Meters, NullLogger<GrainCallFailover>.Instance);

    private static readonly IMeterFactory Meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    [Fact]
    public async Task RunAsync_ACallLostWithASilo_IsSentAgainAfterTheGrace()
    {
        var failover = NewFailover();
        var attempts = new List<CancellationToken>();
        var firstSent = new TaskCompletionSource();
        var running = failover.RunAsync((_, cancellation) =>
        {
            attempts.Add(cancellation);
            if (attempts.Count == 1)
            {
                firstSent.SetResult();
                // Bound to the dead silo: no answer ever comes, cancelled or not.
                return new TaskCompletionSource<int>().Task;
            }

            return Task.FromResult(42);
        }, Ct);
        await firstSent.Task.WaitAsync(Patience, Ct);

        failover.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);

        Assert.Equal(42, await running.WaitAsync(Patience, Ct));
        Assert.Equal(2, attempts.Count);
        Assert.True(attempts[0].IsCancellationRequested);
        Assert.False(attempts[1].IsCancellationRequested);
    }

    [Fact]
    public async Task RunAsync_ACallSentJustAfterASiloWasLost_AndNeverAnswered_IsSentAgainWithoutAnotherSignal()
    {
        var failover = NewFailover();
        failover.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);
        var attempts = new List<CancellationToken>();

        // Sent after the loss was signalled, to a surviving silo that forwards it to the lost one: no answer, and no signal to come.
        var answer = await failover.RunAsync((_, cancellation) =>
        {
            attempts.Add(cancellation);
            return attempts.Count == 1 ? new TaskCompletionSource<int>().Task : Task.FromResult(42);
        }, Ct).WaitAsync(Patience, Ct);

        Assert.Equal(42, answer);
        Assert.Equal(2, attempts.Count);
        Assert.True(attempts[0].IsCancellationRequested);
    }

    [Fact]
    public async Task RunAsync_ACallThatAnswersItsCancellation_KeepsThatAnswer()
    {
        var failover = NewFailover(graceSeconds: 5);
        var attempts = 0;
        var sent = new TaskCompletionSource();
        var running = failover.RunAsync((_, cancellation) =>
        {
            attempts++;
            // A receive waiting on a surviving silo: cancelled, it ends with what it acknowledged.
            var answer = new TaskCompletionSource<int>();
            cancellation.Register(() => answer.SetResult(3));
            sent.SetResult();
            return answer.Task;
        }, Ct);
        await sent.Task.WaitAsync(Patience, Ct);

        failover.NotifyGatewayCountChanged(0, 1, connectionRecovered: false);

        Assert.Equal(3, await running.WaitAsync(TimeSpan.FromSeconds(2), Ct));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task RunAsync_ACallRefusedForALostSilo_IsSentAgainUntilItIsAccepted()
    {
        var failover = NewFailover();
        var attempts = 0;
        var result = await failover.RunAsync((elapsed, _) =>
            ++attempts < 3 ? Task.FromException<TimeSpan>(new SiloUnavailableException("Unable to connect to the dead silo.")) : Task.FromResult(elapsed), Ct);
        Assert.Equal(3, attempts);
        // Each attempt learns how long ago the first went out, so a receive can shorten its wait.
        Assert.True(result >= TimeSpan.FromMilliseconds(250), $"elapsed {result}");
    }

    [Fact]
    public async Task RunAsync_RefusalsPastRetryFor_AreThrown()
    {
        var failover = NewFailover(retryForSeconds: 0.5);
        var attempts = 0;
        var started = TimeProvider.System.GetTimestamp();
        await Assert.ThrowsAnyAsync<OrleansMessageRejectionException>(() => failover.RunAsync<int>((_, _) =>
        {
            attempts++;
            throw new SiloUnavailableException("Unable to connect to the dead silo.");
        }, Ct));
        Assert.InRange(attempts, 2, 5);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task RunAsync_ALostCallOutOfRetries_IsASiloUnavailableException()
    {
        var failover = NewFailover(retryForSeconds: 0);
        var sent = new TaskCompletionSource();
        var running = failover.RunAsync((_, _) =>
        {
            sent.SetResult();
            return new TaskCompletionSource<int>().Task;
        }, Ct);
        await sent.Task.WaitAsync(Patience, Ct);

        failover.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);

        await Assert.ThrowsAsync<SiloUnavailableException>(() => running.WaitAsync(Patience, Ct));
    }

    [Fact]
    public async Task RunAsync_TheGrainsOwnErrorsAndTimeouts_AreNotSentAgain()
    {
        var failover = NewFailover();
        var attempts = 0;
        await Assert.ThrowsAsync<MailboxQuotaExceededException>(() => failover.RunAsync<int>((_, _) =>
        {
            attempts++;
            throw new MailboxQuotaExceededException(10, 1024);
        }, Ct));
        await Assert.ThrowsAsync<TimeoutException>(() => failover.RunAsync<int>((_, _) =>
        {
            attempts++;
            throw new TimeoutException("Response did not arrive on time.");
        }, Ct));
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task RunAsync_ALossLongBeforeTheCallOrAConnectionOpening_DoesNotConcernIt()
    {
        var failover = NewFailover(graceSeconds: 0.05, retryForSeconds: 0.2);
        failover.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);
        await Task.Delay(TimeSpan.FromSeconds(0.4), Ct);
        var attempts = 0;
        CancellationToken token = default;
        var running = failover.RunAsync(async (_, cancellation) =>
        {
            attempts++;
            token = cancellation;
            await Task.Delay(TimeSpan.FromMilliseconds(300), CancellationToken.None);
            return 5;
        }, Ct);
        failover.NotifyGatewayCountChanged(2, 1, connectionRecovered: true);

        Assert.Equal(5, await running.WaitAsync(Patience, Ct));
        Assert.Equal(1, attempts);
        Assert.False(token.IsCancellationRequested);
    }

    [Fact]
    public async Task RunAsync_TheRequestClosing_EndsItWithoutWaitingForTheCall()
    {
        var failover = NewFailover();
        using var aborted = new CancellationTokenSource();
        var sent = new TaskCompletionSource();
        var running = failover.RunAsync((_, _) =>
        {
            sent.SetResult();
            return new TaskCompletionSource<int>().Task;
        }, aborted.Token);
        await sent.Task.WaitAsync(Patience, Ct);

        await aborted.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(Patience, Ct));
    }

    [Fact]
    public void Validate_BadValues_AreAllReported()
    {
        var result = new FailoverOptionsValidator().Validate(null, new FailoverOptions { LossGrace = TimeSpan.Zero, RetryFor = TimeSpan.FromMinutes(5) });
        Assert.True(result.Failed);
        Assert.Equal(2, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.StartsWith("Pigeon:Failover:LossGrace ", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Pigeon:Failover:RetryFor ", StringComparison.Ordinal));
        Assert.True(new FailoverOptionsValidator().Validate(null, new FailoverOptions()).Succeeded);
    }
}
