using System.Net;
using System.Net.Http.Headers;
using Pigeon.Api;
using Pigeon.Client.Cli;
using Pigeon.Messaging;

namespace Pigeon.Tests.Client;

/// <summary>
/// The CLI's retries under <see cref="PigeonApiClient"/> (<c>RetryingHandler</c>): a short
/// <c>Retry-After</c> is waited out and tried again; one longer than the client waits (a quota used up
/// for the day) is not, and the user is told when to try again.
/// </summary>
public sealed class RetryingHandlerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(0, 4)]
    [InlineData(3 * 3600, 1)]
    public async Task A429_IsTriedAgain_OnlyWhenItAsksForAWaitTheClientWillMake(int retryAfterSeconds, int attempts)
    {
        var answered = 0;
        var context = new CliContext
        {
            Output = TextWriter.Null,
            Error = TextWriter.Null,
            GetEnvironmentVariable = _ => null,
            CreateHttpHandler = () => new Answering(() =>
            {
                answered++;
                var limited = InMemoryApi.Problem(HttpStatusCode.TooManyRequests, ProblemTypes.AttachmentQuotaExceeded, "The daily attachment quota is used up.", "At most 1 GiB.");
                limited.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(retryAfterSeconds));
                return limited;
            }),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            MaxAttempts = 4,
        };
        using var api = context.CreateApiClient(new Uri("http://127.0.0.1:9/"), null);

        var problem = await Assert.ThrowsAsync<PigeonApiException>(() => api.DownloadAttachmentAsync(Guid.NewGuid(), new byte[32], 0, Stream.Null, Ct));
        var shown = PigeonCommand.AsCliException(new ServerRefusedException(problem, null))!;

        Assert.Equal(attempts, answered);
        Assert.Equal(ExitCodes.ServerRefused, shown.ExitCode);
        Assert.StartsWith("You have uploaded as many file bytes today as the server allows; try again in", shown.Message, StringComparison.Ordinal);
        if (retryAfterSeconds > 0)
        {
            Assert.EndsWith("try again in 180 min.", shown.Message, StringComparison.Ordinal);
        }
    }

    private sealed class Answering(Func<HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromResult(answer());
    }
}
