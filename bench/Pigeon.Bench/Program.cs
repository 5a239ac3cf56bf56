using Pigeon.Bench.Reporting;
using Pigeon.Bench.Scenarios;

namespace Pigeon.Bench;

/// <summary>The command line: parse, run the scenario, print the summary, write the JSON.</summary>
internal static class Program
{
    // Not top-level statements: those would declare a global Program that clashes with the gateway's
    // in the test project, which references both.
    private static async Task<int> Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"Pigeon.Bench: {e.Message}\n\n{BenchOptions.Usage}");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        try
        {
            var result = await BenchRunner.RunAsync(options, string.Join(' ', args), cancel.Token);
            SummaryWriter.Write(result, Console.Out);
            if (options.OutFile is { } path)
            {
                result.WriteJson(path);
                await Console.Error.WriteLineAsync($"result written to {path}");
            }

            if (options.PlotFile is { } plot)
            {
                foreach (var file in ResultPlot.Write(result, plot))
                {
                    await Console.Error.WriteLineAsync($"plot written to {file}");
                }
            }

            // Lost messages fail the run, so a script can tell.
            return result.Phases.All(p => p.Messages.Lost == 0) ? 0 : 1;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Pigeon.Bench: interrupted.");
            return 130;
        }
    }
}
