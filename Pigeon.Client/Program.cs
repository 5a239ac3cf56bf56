using System.Runtime.InteropServices;
using Pigeon.Client.Cli;

namespace Pigeon.Client;

/// <summary>The <c>pigeon</c> executable: the command tree over the real console, environment and network.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        // Ctrl-C and SIGTERM cancel the command's token so 'chat' and 'sync --watch' finish what they
        // stored and acknowledged and exit 0; a second Ctrl-C ends the process at once.
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (!stop.IsCancellationRequested)
            {
                e.Cancel = true;
                stop.Cancel();
            }
        };
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            stop.Cancel();
        });
        return await PigeonCli.RunAsync(args, CliContext.FromProcess(), stop.Token);
    }
}
