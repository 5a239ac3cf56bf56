using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Daemon;

/// <summary>
/// <c>pigeon daemon [--socket [--socket-path PATH]] [--manual-ack]</c>: keeps the profile open and
/// speaks JSON-RPC 2.0 (one JSON object per line) on stdin/stdout, or on a Unix socket (mode 0600,
/// <c>daemon.sock</c> in the profile folder by default) for any number of clients. It receives all
/// the time and notifies what arrives. One daemon per profile. docs/daemon.md has every method.
/// </summary>
public sealed class DaemonCommand : PigeonCommand
{
    /// <summary>The socket's default name in the profile folder.</summary>
    public const string SocketFileName = "daemon.sock";

    private readonly Option<bool> _socket = new("--socket") { Description = $"Listen on a Unix socket ({SocketFileName} in the profile folder) instead of stdin/stdout" };

    private readonly Option<string?> _socketPath = new("--socket-path") { Description = "Where the socket goes (implies --socket)", HelpName = "PATH" };

    private readonly Option<bool> _manualAck = new("--manual-ack")
    {
        Description = "Keep each received message until a client acknowledges it with 'ack'; unacknowledged ones are notified again on 'subscribe'",
    };

    /// <summary>Declares the command.</summary>
    public DaemonCommand(CliContext context, GlobalOptions globals)
        : base("daemon", "Serve JSON-RPC for scripts and bots: send, receive as notifications, contacts (docs/daemon.md).", context, globals)
    {
        Options.Add(_socket);
        Options.Add(_socketPath);
        Options.Add(_manualAck);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var directory = Context.ProfileDirectory(parseResult.GetValue(Globals.Profile));
        using var session = OpenProfile(parseResult);
        using var profileLock = DaemonLock.Take(directory);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var host = new DaemonHost(session, parseResult.GetValue(_manualAck), Context.WriteError, stop.Token);
        var receiving = host.ReceiveAsync();
        var socketPath = parseResult.GetValue(_socketPath) ?? (parseResult.GetValue(_socket) ? Path.Combine(directory, SocketFileName) : null);
        try
        {
            if (socketPath is not null)
            {
                await host.ListenAsync(socketPath);
            }
            else
            {
                // stdio: the daemon lives as long as its one client keeps stdin open.
                var (input, output) = Context.OpenStandardStreams();
                await host.ServeAsync(output, input);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await receiving;
        }
        return ExitCodes.Success;
    }
}
