using Pigeon.Bench.Reporting;

namespace Pigeon.Bench.Scenarios;

/// <summary>Runs the scenario the options name and returns its result.</summary>
public static class BenchRunner
{
    /// <summary>Runs <paramref name="options"/>' scenario to the end.</summary>
    public static async Task<BenchResult> RunAsync(BenchOptions options, string command, CancellationToken cancellationToken)
    {
        // Every parked long-poll holds a socket, and registration and sends need some besides.
        var connections = options.Scenario switch
        {
            "longpolls" => options.Users + 1_000,
            "group" => (options.Members * options.Devices * 2) + 1_000,
            _ => Math.Max(1_000, options.Pairs * 4),
        };
        using var run = new BenchRun(options, connections);
        var phases = options.Scenario switch
        {
            "store" or "drain" => await StoreDrainScenario.RunAsync(run, cancellationToken),
            "pairs" => await PairsScenario.RunAsync(run, cancellationToken),
            "longpolls" => await LongPollsScenario.RunAsync(run, cancellationToken),
            "group" => await GroupScenario.RunAsync(run, cancellationToken),
            _ => throw new ArgumentException($"unknown scenario {options.Scenario}"),
        };
        return run.Result(phases, command);
    }
}
