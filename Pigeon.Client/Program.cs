using Pigeon.Client.Cli;

namespace Pigeon.Client;

/// <summary>The <c>pigeon</c> executable: the command tree over the real console, environment and network.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => PigeonCli.RunAsync(args, CliContext.FromProcess());
}
