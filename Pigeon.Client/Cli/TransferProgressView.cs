using System.Diagnostics;
using Pigeon.Messaging.Attachments;
using Spectre.Console;

namespace Pigeon.Client.Cli;

/// <summary>
/// Shows an attachment's transfer on stderr: on a terminal a Spectre.Console progress bar with bytes,
/// rate and time left; otherwise (redirected, a script) a plain line at the start, at every tenth and
/// at the end, so logs stay readable. Stdout keeps only the command's result.
/// </summary>
internal static class TransferProgressView
{
    /// <summary>Runs <paramref name="transfer"/> with its progress shown under <paramref name="label"/> (like "Uploading report.pdf").</summary>
    public static async Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<TransferProgress>, Task<T>> transfer)
    {
        if (!context.IsTerminal)
        {
            var lines = new PlainLines(context, label);
            var plainResult = await transfer(lines);
            lines.Finish();
            return plainResult;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(label), maxValue: 1);
                result = await transfer(new Reporter(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Progress reported on the transferring thread, in order (<see cref="Progress{T}"/> would post to the thread pool and could reorder).</summary>
    internal sealed class Reporter(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }

    private sealed class PlainLines(CliContext context, string label) : IProgress<TransferProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _tenths = -1;
        private TransferProgress _last;

        public void Report(TransferProgress value)
        {
            _last = value;
            var tenths = value.Total == 0 ? 10 : (int)(value.Done * 10 / value.Total);
            if (tenths == _tenths)
            {
                return;
            }

            _tenths = tenths;
            context.WriteError(FormattableString.Invariant(
                $"{label}: {Sizes.Format(value.Done)} of {Sizes.Format(value.Total)} ({tenths * 10}%, {Rate(value.Done)})"));
        }

        public void Finish()
        {
            if (_tenths < 10)
            {
                Report(_last with { Done = _last.Total });
            }
        }

        private string Rate(long done) => Sizes.Format((long)(done / Math.Max(_clock.Elapsed.TotalSeconds, 0.001))) + "/s";
    }
}
