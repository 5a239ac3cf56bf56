using Pigeon.Api;
using Pigeon.Client.Api;
using Pigeon.Messaging;
using Pigeon.Protocol.Storage;

namespace Pigeon.Client.Cli;

/// <summary>
/// Everything a command touches outside its own code: the terminal, the environment, the network
/// handler, the clock and the key-derivation cost. <c>Program</c> builds it from the process; tests
/// build one with captured writers, a temporary home and a capturing HTTP handler. The client core
/// (Pigeon.Messaging) sees only <see cref="Messaging"/>.
/// </summary>
public sealed class CliContext
{
    private readonly Lock _outputLock = new();

    /// <summary>Where results go (stdout).</summary>
    public required TextWriter Output { get; init; }

    /// <summary>Where errors and warnings go (stderr).</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Where <c>send -</c> and <c>chat</c> read text (stdin).</summary>
    public TextReader Input { get; init; } = TextReader.Null;

    /// <summary>True when stdin and stdout are a terminal: <c>pigeon chat</c> goes full screen.</summary>
    public bool IsTerminal { get; init; }

    /// <summary>The raw standard input and output, for <c>pigeon daemon</c>'s JSON-RPC over stdio.</summary>
    public Func<(Stream Input, Stream Output)> OpenStandardStreams { get; init; } = () => (Console.OpenStandardInput(), Console.OpenStandardOutput());

    /// <summary>Reads an environment variable (<c>PIGEON_HOME</c>, <c>PIGEON_PASSPHRASE</c>, <c>HOME</c>).</summary>
    public required Func<string, string?> GetEnvironmentVariable { get; init; }

    /// <summary>Asks for a secret without echo; null when there is no interactive terminal.</summary>
    public Func<string, string?>? PromptSecret { get; init; }

    /// <summary>Makes the HTTP handler of each gateway client (tests wrap it to capture bodies).</summary>
    public Func<HttpMessageHandler> CreateHttpHandler { get; init; } = () => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) };

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Argon2id cost for a new encrypted profile (tests use a cheap one; existing profiles keep theirs).</summary>
    public PassphraseKeyParameters KdfParameters { get; init; } = PassphraseKeyParameters.Default;

    /// <summary>First retry delay of a transient network failure; it doubles on each attempt.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Attempts per HTTP request, the first included.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>What the client core gets from this context: the clock, the key-derivation cost and <see cref="CreateApiClient"/>.</summary>
    public MessagingEnvironment Messaging => new() { ConnectApi = CreateApiClient, Time = Time, KdfParameters = KdfParameters };

    /// <summary>
    /// A client of the API at <paramref name="server"/>: each request goes through
    /// <see cref="CreateHttpHandler"/> and is tried again as <see cref="MaxAttempts"/> and
    /// <see cref="RetryBaseDelay"/> say (<see cref="RetryingHandler"/>, which also bounds each attempt);
    /// <paramref name="credentials"/> sign in when a call needs a token.
    /// </summary>
    internal PigeonApiClient CreateApiClient(Uri server, ApiCredentials? credentials) =>
        new(new HttpClient(new RetryingHandler(this, CreateHttpHandler()), disposeHandler: true) { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan },
            credentials, disposeHttpClient: true)
        {
            RequestTimeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>The root of all profiles: <c>PIGEON_HOME</c>, or <c>~/.pigeon</c>.</summary>
    public string HomeDirectory =>
        GetEnvironmentVariable("PIGEON_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pigeon");

    /// <summary>The folder of one profile: the home itself, or <c>&lt;home&gt;/profiles/&lt;name&gt;</c>.</summary>
    public string ProfileDirectory(string? profile) =>
        string.IsNullOrEmpty(profile) ? HomeDirectory : Path.Combine(HomeDirectory, "profiles", profile);

    /// <summary>Writes a line to <see cref="Output"/>; safe while <c>chat</c>'s receive loop also writes.</summary>
    public void WriteLine(string line)
    {
        lock (_outputLock)
        {
            Output.WriteLine(line);
            Output.Flush();
        }
    }

    /// <summary>Writes a line to <see cref="Error"/>.</summary>
    public void WriteError(string line)
    {
        lock (_outputLock)
        {
            Error.WriteLine(line);
            Error.Flush();
        }
    }

    /// <summary>The context of the real process: the console, the environment, the system clock.</summary>
    public static CliContext FromProcess() => new()
    {
        Output = Console.Out,
        Error = Console.Error,
        Input = Console.In,
        IsTerminal = !Console.IsInputRedirected && !Console.IsOutputRedirected,
        GetEnvironmentVariable = Environment.GetEnvironmentVariable,
        PromptSecret = Console.IsInputRedirected ? null : ReadSecretFromConsole,
    };

    private static string? ReadSecretFromConsole(string prompt)
    {
        Console.Error.Write(prompt);
        var secret = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return secret.ToString();
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (secret.Length > 0)
                {
                    secret.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                secret.Append(key.KeyChar);
            }
        }
    }
}
