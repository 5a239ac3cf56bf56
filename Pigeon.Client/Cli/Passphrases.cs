namespace Pigeon.Client.Cli;

/// <summary>
/// Where passphrases come from, in this order: a file named on the command line (its first line), an
/// environment variable, the terminal (without echo). A new passphrase is asked twice on a terminal;
/// without one and without a terminal nothing is created: only <c>--no-passphrase</c> makes a
/// plaintext profile.
/// </summary>
internal sealed class Passphrases(CliContext context)
{
    /// <summary>The variable that unlocks a profile.</summary>
    public const string Variable = "PIGEON_PASSPHRASE";

    /// <summary>The variable that gives <c>pigeon passphrase</c> the new one.</summary>
    public const string NewVariable = "PIGEON_NEW_PASSPHRASE";

    /// <summary>The passphrase of an existing profile, asked only when it is needed; null when none can be had.</summary>
    public Func<string?> Current(FileInfo? file) => () =>
        ReadFile(file) ?? context.GetEnvironmentVariable(Variable) ?? context.PromptSecret?.Invoke("Passphrase: ");

    /// <summary>
    /// A new passphrase from <paramref name="file"/>, <paramref name="variable"/> or the terminal (twice);
    /// null only for <paramref name="none"/>.
    /// </summary>
    /// <exception cref="CliException">None was given and there is no terminal to ask, the two differ, or it is empty.</exception>
    public string? New(bool none, FileInfo? file, string variable, string noneOption)
    {
        if (none)
        {
            return null;
        }

        var given = ReadFile(file) ?? context.GetEnvironmentVariable(variable);
        if (given is null)
        {
            if (context.PromptSecret is not { } prompt)
            {
                throw new CliException(ExitCodes.UsageError,
                    $"A passphrase is needed and there is no terminal to ask for it: set {variable}, give a passphrase file, or choose {noneOption} (no encryption). Nothing was changed.");
            }

            given = prompt("New passphrase: ");
            if (!string.IsNullOrEmpty(given) && prompt("Repeat the passphrase: ") != given)
            {
                throw new CliException(ExitCodes.UsageError, "The passphrases differ. Nothing was changed.");
            }
        }

        return string.IsNullOrEmpty(given)
            ? throw new CliException(ExitCodes.UsageError, $"An empty passphrase is no passphrase: choose {noneOption} to store the profile unencrypted. Nothing was changed.")
            : given;
    }

    private static string? ReadFile(FileInfo? file)
    {
        if (file is null)
        {
            return null;
        }

        try
        {
            using var reader = file.OpenText();
            return reader.ReadLine() ?? "";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.UsageError, $"The passphrase file {file.FullName} cannot be read: {exception.Message}", exception);
        }
    }
}
