using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon passphrase [--no-passphrase] [--new-passphrase-file FILE]</c>: seals the whole profile
/// again under a new store key protected by a new passphrase (asked twice on a terminal, or from FILE
/// or <c>PIGEON_NEW_PASSPHRASE</c>), in one transaction: until it is done the old passphrase works,
/// afterwards only the new one. <c>--no-passphrase</c> stores it unencrypted.
/// </summary>
public sealed class PassphraseCommand : PigeonCommand
{
    private readonly Option<bool> _noPassphrase = new("--no-passphrase")
    {
        Description = "Remove the passphrase: anyone who can read the file reads your keys, contacts and messages",
    };

    private readonly Option<FileInfo?> _newPassphraseFile = new("--new-passphrase-file")
    {
        Description = "Read the new passphrase from the first line of FILE (for scripts)",
        HelpName = "FILE",
    };

    /// <summary>Declares the command.</summary>
    public PassphraseCommand(CliContext context, GlobalOptions globals)
        : base("passphrase", "Change the profile's passphrase (or set one, or remove it), re-encrypting everything.", context, globals)
    {
        Options.Add(_noPassphrase);
        Options.Add(_newPassphraseFile);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var passphrase = new Passphrases(Context).New(
            parseResult.GetValue(_noPassphrase), parseResult.GetValue(_newPassphraseFile), Passphrases.NewVariable, "--no-passphrase");
        await session.ChangePassphraseAsync(passphrase);
        if (IsJson(parseResult))
        {
            WriteJson(new { encrypted = passphrase is not null });
        }
        else if (passphrase is null)
        {
            Context.WriteError("pigeon: warning: the profile is now stored unencrypted: anyone who can read the file reads your keys, contacts and messages.");
        }
        else
        {
            Context.WriteLine("The profile is sealed again under the new passphrase; the old one no longer opens it.");
        }

        return ExitCodes.Success;
    }
}
