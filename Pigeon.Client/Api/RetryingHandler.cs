using Pigeon.Api;
using Pigeon.Client.Cli;
using Polly;
using Polly.Retry;

namespace Pigeon.Client.Api;

/// <summary>
/// Sends each request of the API again when another try may succeed: no connection, an attempt with
/// no answer in time, or an answer of 429, 502, 503 or 504 (<see cref="PigeonApiException.IsTransientStatus"/>).
/// A Polly pipeline waits between attempts with jittered exponential backoff, or as long as
/// <c>Retry-After</c> asks (at most 30 s at a time); an answer that asks for more than 2 minutes (a
/// daily quota used up, not a per-second or per-minute rate) is not tried again, and its caller says
/// when it may be. Each attempt may take 30 s beyond the wait the request asked
/// of the server (<see cref="PigeonApiClient.ServerWait"/>). Every request of the API is safe to repeat.
/// </summary>
internal sealed class RetryingHandler : DelegatingHandler
{
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LongestWaitWorthRetrying = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(30);
    private readonly ResiliencePipeline<HttpResponseMessage> _retries;

    /// <summary>Retries as <paramref name="context"/> says (attempts, first delay, clock) around <paramref name="inner"/>.</summary>
    public RetryingHandler(CliContext context, HttpMessageHandler inner)
        : base(inner)
    {
        _retries = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = context.Time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(0, context.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = context.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException } => true,
                    // An attempt's own timeout, not the caller giving up.
                    { Exception: OperationCanceledException } => !args.Context.CancellationToken.IsCancellationRequested,
                    { Result: { } response } => PigeonApiException.IsTransientStatus(response.StatusCode)
                        && !(PigeonApiException.RetryAfterOf(response) > LongestWaitWorthRetrying),
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? RetryAfter(response) : null),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var serverWait = request.Options.TryGetValue(PigeonApiClient.ServerWait, out var wait) ? wait : TimeSpan.Zero;
        return await _retries.ExecuteAsync(async token =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(AttemptTimeout + serverWait);
            var response = await base.SendAsync(request, timeout.Token);
            if (request.Options.TryGetValue(PigeonApiClient.StreamedAnswer, out var streamed) && streamed)
            {
                // Read by the caller as it arrives; a download cut off part-way continues from what it has.
                return response;
            }

            try
            {
                // The body too within the attempt's time: a server that stalls half-way is tried again.
                await response.Content.LoadIntoBufferAsync(timeout.Token);
                return response;
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }, cancellationToken);
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        PigeonApiException.RetryAfterOf(response) is { } delay ? TimeSpan.FromTicks(Math.Clamp(delay.Ticks, 0, MaxRetryAfter.Ticks)) : null;
}
