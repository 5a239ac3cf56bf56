using Microsoft.Extensions.Time.Testing;
using Pigeon.Bench.Reporting;

namespace Pigeon.Tests.Bench;

public sealed class ProgressLineTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EverySecond_CallsTheDescriber_QuietOrNot_SoScenariosKeepSampling(bool quiet)
    {
        var time = new FakeTimeProvider();
        using var called = new SemaphoreSlim(0);
        var calls = 0;
        await using (new ProgressLine(() =>
            {
                Interlocked.Increment(ref calls);
                called.Release();
                return "sampled";
            }, quiet, time))
        {
            for (var second = 1; second <= 3; second++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), $"no call after second {second}");
            }
        }

        Assert.Equal(3, calls);
    }
}
