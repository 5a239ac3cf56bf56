namespace Pigeon.Client.Cli;

/// <summary>The process exit codes of <c>pigeon</c>, listed in <c>--help</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The command line is wrong: an unknown option, a malformed account id, a profile that already exists.</summary>
    public const int UsageError = 1;

    /// <summary>The profile is not initialised, or the contact or request named does not exist.</summary>
    public const int NotFound = 2;

    /// <summary>The server could not be reached, even after retries.</summary>
    public const int ServerUnreachable = 3;

    /// <summary>The server answered with an error (for example: no account has that id).</summary>
    public const int ServerRefused = 4;

    /// <summary>The passphrase is wrong or missing, or a key or message failed a cryptographic check.</summary>
    public const int CryptoFailure = 5;

    /// <summary>The profile's files could not be read or written (disk full, permissions, a damaged or locked database).</summary>
    public const int StoreFailure = 6;

    /// <summary>Ctrl-C stopped a command other than <c>chat</c> or <c>sync --watch</c> (for which it is the normal way out, exit 0).</summary>
    public const int Interrupted = 130;

    /// <summary>The lines <c>--help</c> shows.</summary>
    public const string HelpText = """
        Exit codes:
          0  success
          1  usage error (bad arguments, malformed account id, profile already exists)
          2  not initialised, unknown contact or request
          3  server unreachable (after retries)
          4  server refused the request (e.g. unknown account id)
          5  wrong or missing passphrase, or a cryptographic check failed
          6  the profile could not be read or written (disk, permissions, damaged file)
        130  interrupted by Ctrl-C (chat and sync --watch exit 0 when left with Ctrl-C)
        """;
}

/// <summary>A failure the user can act on: its message is printed and the process exits with <see cref="ExitCode"/>.</summary>
public sealed class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;
}
