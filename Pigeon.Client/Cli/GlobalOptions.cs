using System.CommandLine;

namespace Pigeon.Client.Cli;

/// <summary>The options every command takes: which profile, where its passphrase is, and whether to print JSON.</summary>
public sealed class GlobalOptions
{
    /// <summary><c>--profile NAME</c>: use <c>&lt;home&gt;/profiles/NAME</c> instead of the home folder itself.</summary>
    public Option<string?> Profile { get; } = new("--profile", "-p")
    {
        Description = "Use the profile <home>/profiles/NAME (home is PIGEON_HOME or ~/.pigeon), so several people can share a machine.",
        HelpName = "NAME",
        Recursive = true,
    };

    /// <summary><c>--json</c>: machine-readable output.</summary>
    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print results as JSON for scripts (errors still go to stderr).",
        Recursive = true,
    };

    /// <summary><c>--passphrase-file FILE</c>: the profile's passphrase is the first line of FILE (for scripts; before <c>PIGEON_PASSPHRASE</c> and the prompt).</summary>
    public Option<FileInfo?> PassphraseFile { get; } = new("--passphrase-file")
    {
        Description = "Read the profile's passphrase from the first line of FILE (for scripts; keep the file private).",
        HelpName = "FILE",
        Recursive = true,
    };
}
