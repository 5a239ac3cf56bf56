using System.CommandLine;
using Pigeon.Client.Commands;
using Pigeon.Client.Commands.Attachments;
using Pigeon.Client.Commands.Devices;
using Pigeon.Client.Commands.Groups;
using Pigeon.Client.Daemon;

namespace Pigeon.Client.Cli;

/// <summary>The <c>pigeon</c> command tree, and the one entry point <c>Program</c> and the tests call.</summary>
public static class PigeonCli
{
    /// <summary>Builds the root command with every subcommand bound to <paramref name="context"/>.</summary>
    public static RootCommand CreateRootCommand(CliContext context)
    {
        var globals = new GlobalOptions();
        var root = new RootCommand($"""
            pigeon: end-to-end encrypted messages. Everything is encrypted on this machine; the server
            only stores and forwards ciphertext. Start with 'pigeon init --server URL'.

            Environment: PIGEON_HOME (default ~/.pigeon), PIGEON_PASSPHRASE (unlocks an encrypted profile, and encrypts a new
            one), PIGEON_NEW_PASSPHRASE (the new one for 'pigeon passphrase').

            {ExitCodes.HelpText}
            """)
        {
            globals.Profile,
            globals.Json,
            globals.PassphraseFile,
            new InitCommand(context, globals),
            new WhoamiCommand(context, globals),
            new InviteCommand(context, globals),
            new RequestsCommand(context, globals),
            new AcceptCommand(context, globals),
            new DeclineCommand(context, globals),
            new ContactsCommand(context, globals),
            new RemoveCommand(context, globals),
            new BlockCommand(context, globals),
            new UnblockCommand(context, globals),
            new BlockedCommand(context, globals),
            new SendCommand(context, globals),
            new SyncCommand(context, globals),
            new HistoryCommand(context, globals),
            new ChatCommand(context, globals),
            new VerifyCommand(context, globals),
            new SettingsCommand(context, globals),
            new DaemonCommand(context, globals),
            new TimerCommand(context, globals),
            new PassphraseCommand(context, globals),
            new GroupCommand(context, globals),
            new GroupsCommand(context, globals),
            new AttachmentsCommand(context, globals),
            new SaveCommand(context, globals),
            new DevicesCommand(context, globals),
        };
        return root;
    }

    /// <summary>Parses and runs a command line; returns the exit code. <paramref name="ct"/> is Ctrl-C.</summary>
    public static Task<int> RunAsync(string[] args, CliContext context, CancellationToken ct = default) =>
        CreateRootCommand(context).Parse(args).InvokeAsync(new InvocationConfiguration { Output = context.Output, Error = context.Error, ProcessTerminationTimeout = null }, ct);
}
