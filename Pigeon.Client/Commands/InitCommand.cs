using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon init --server URL [--name NAME] [--no-passphrase] [--insecure]</c>: creates an identity,
/// registers it, publishes prekeys and writes the profile, encrypted under a passphrase (asked twice on a
/// terminal, or from <c>--passphrase-file</c> or <c>PIGEON_PASSPHRASE</c>); <c>--no-passphrase</c> is the
/// only way to a plaintext profile. Prints the account id to share. A plain <c>http://</c> server is
/// accepted only on a loopback address, or with <c>--insecure</c> and a warning, because bearer tokens
/// would cross the network in the clear.
/// </summary>
public sealed class InitCommand : PigeonCommand
{
    private readonly Option<string> _server = new("--server", "-s")
    {
        Description = "The gateway's address, e.g. https://pigeon.example.com (http:// only on a loopback address)",
        HelpName = "URL",
        Required = true,
    };

    private readonly Option<string?> _name = new("--name", "-n")
    {
        Description = "The name your contacts see (default: the profile name or your user name)",
        HelpName = "NAME",
    };

    private readonly Option<bool> _insecure = new("--insecure")
    {
        Description = "Accept an http:// server that is not on a loopback address (test networks only: tokens travel unencrypted)",
    };

    private readonly Option<bool> _noPassphrase = new("--no-passphrase")
    {
        Description = "Store the profile unencrypted: anyone who can read the file reads your keys, contacts and messages",
    };

    /// <summary>Declares the command.</summary>
    public InitCommand(CliContext context, GlobalOptions globals)
        : base("init", "Create your identity, register it with the server and publish your prekeys.", context, globals)
    {
        Options.Add(_server);
        Options.Add(_name);
        Options.Add(_insecure);
        Options.Add(_noPassphrase);
    }

    /// <summary>
    /// The server a new profile uses: an http(s) address, plain http only on a loopback address or with
    /// <paramref name="insecure"/> (and a warning).
    /// </summary>
    internal static Uri ServerAddress(CliContext context, string serverText, bool insecure)
    {
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
        {
            throw new CliException(ExitCodes.UsageError, $"'{serverText}' is not an http(s) address, e.g. http://127.0.0.1:8080");
        }

        if (server.Scheme == "http" && !server.IsLoopback)
        {
            if (!insecure)
            {
                throw new CliException(ExitCodes.UsageError,
                    $"'{serverText}' is plain http on a host that is not this machine, so your sign-ins and tokens would cross the network unencrypted. Use https://, or --insecure on a test network.");
            }

            context.WriteError($"pigeon: warning: --insecure: talking to {server.Host} over plain http; anyone on the network can read your tokens and see your traffic.");
        }

        return server;
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var server = ServerAddress(Context, parseResult.GetRequiredValue(_server), parseResult.GetValue(_insecure));
        var profile = parseResult.GetValue(Globals.Profile);
        var name = (parseResult.GetValue(_name) ?? profile ?? Environment.UserName).Trim();
        if (name.Length is 0 or > InnerMessage.MaxNameLength || name.Any(char.IsControl))
        {
            throw new CliException(ExitCodes.UsageError, $"The name must be 1 to {InnerMessage.MaxNameLength} printable characters.");
        }
        var passphrase = new Passphrases(Context).New(
            parseResult.GetValue(_noPassphrase), parseResult.GetValue(Globals.PassphraseFile), Passphrases.Variable, "--no-passphrase");
        var directory = Context.ProfileDirectory(profile);
        var created = await ProfileSession.CreateAsync(Context.Messaging, directory, server, name, passphrase, ct);
        if (!created.IsEncrypted)
        {
            Context.WriteError($"pigeon: warning: --no-passphrase: your private keys, contacts and messages are stored unencrypted in {directory} (readable by your user only, and by anyone who copies the file). 'pigeon passphrase' encrypts them later.");
        }
        if (IsJson(parseResult))
        {
            WriteJson(new { accountId = created.AccountId, name = created.DisplayName, server = created.Server, encrypted = created.IsEncrypted, profile = directory });
        }
        else
        {
            Context.WriteLine($"Created {name}'s identity on {created.Server}.");
            Context.WriteLine($"Your account id: {created.AccountId}");
            Context.WriteLine("Give this id to your contacts; they run 'pigeon invite <id>'.");
        }
        return ExitCodes.Success;
    }
}
