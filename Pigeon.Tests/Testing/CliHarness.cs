using System.Collections.Concurrent;
using System.Security.Cryptography;
using Pigeon.Client.Cli;
using Pigeon.Protocol.Storage;

namespace Pigeon.Tests.Testing;

/// <summary>What one in-process run of <c>pigeon</c> printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>
/// Records every HTTP request the client sends, for tests that look for leaks, and can fail the
/// requests a test picks (as a lost connection would): before they reach the server, or after the
/// server has answered (the answer is lost on the way back); or replace an answer with another (as a
/// server that lies would).
/// </summary>
public sealed class RecordingHandler(
    ConcurrentQueue<string> bodies, Func<HttpRequestMessage, bool> fail, Func<HttpRequestMessage, bool> loseResponse,
    Func<HttpRequestMessage, HttpResponseMessage, Task<HttpResponseMessage>>? rewriteResponse = null) : DelegatingHandler(new SocketsHttpHandler())
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        bodies.Enqueue($"{request.Method} {request.RequestUri}\n{request.Headers}\n{body}");
        if (fail(request))
        {
            throw new HttpRequestException("The test dropped this request.");
        }
        var response = await base.SendAsync(request, cancellationToken);
        if (loseResponse(request))
        {
            response.Dispose();
            throw new HttpRequestException("The test lost the answer to this request.");
        }
        return rewriteResponse is null ? response : await rewriteResponse(request, response);
    }
}

/// <summary>
/// A temporary <c>PIGEON_HOME</c> with any number of profiles, and runs of the real command tree in
/// this process with captured output: each run is a fresh <see cref="CliContext"/>, as a new process
/// of <c>pigeon</c> would be.
/// </summary>
public sealed class CliHarness : IDisposable
{
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);
    private readonly bool _ownsHome;

    /// <param name="home">An existing home to reuse (a "restarted" client), or null for a new temporary one.</param>
    public CliHarness(string? home = null)
    {
        _ownsHome = home is null;
        Home = home ?? Path.Combine(Path.GetTempPath(), $"pigeon-cli-{Guid.NewGuid():N}");
        _environment["PIGEON_HOME"] = Home;
    }

    /// <summary>The temporary home.</summary>
    public string Home { get; }

    /// <summary>Every HTTP request the client sent (method, address, headers and body).</summary>
    public ConcurrentQueue<string> HttpBodies { get; } = new();

    /// <summary>The clock the commands see.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>The terminal's secret prompt (null: no terminal, as when stdin is redirected).</summary>
    public Func<string, string?>? PromptSecret { get; set; }

    /// <summary>Requests for which this returns true fail as if the connection dropped.</summary>
    public Func<HttpRequestMessage, bool> FailRequest { get; set; } = _ => false;

    /// <summary>Requests for which this returns true reach the server, but their answers are lost.</summary>
    public Func<HttpRequestMessage, bool> LoseResponse { get; set; } = _ => false;

    /// <summary>
    /// When set, every answer the server gives goes through this before the client sees it: a test
    /// returns it unchanged, or another in its place (a server that replays or forges what it serves).
    /// </summary>
    public Func<HttpRequestMessage, HttpResponseMessage, Task<HttpResponseMessage>>? RewriteResponse { get; set; }

    /// <summary>Sets or clears an environment variable the commands see.</summary>
    public void SetEnvironment(string name, string? value)
    {
        if (value is null)
        {
            _environment.Remove(name);
        }
        else
        {
            _environment[name] = value;
        }
    }

    /// <summary>The folder of a profile.</summary>
    public string ProfileDirectory(string profile) => Path.Combine(Home, "profiles", profile);

    /// <summary>The database file of a profile.</summary>
    public string DatabasePath(string profile) => Path.Combine(ProfileDirectory(profile), "pigeon.db");

    /// <summary>A SHA-256 of the profile's database file, to prove a failed command changed nothing.</summary>
    public string Checksum(string profile) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(DatabasePath(profile))));

    /// <summary>Runs <c>pigeon args</c> with <paramref name="input"/> as stdin.</summary>
    public async Task<CliRun> RunAsync(string[] args, string? input = null, CancellationToken ct = default)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await RunAsync(args, new StringReader(input ?? ""), output, error, ct);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Runs <c>pigeon args</c> over the given streams; <paramref name="ct"/> plays Ctrl-C.</summary>
    public Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var context = new CliContext
        {
            Output = output,
            Error = error,
            Input = input,
            GetEnvironmentVariable = name => _environment.GetValueOrDefault(name),
            PromptSecret = PromptSecret,
            CreateHttpHandler = () => new RecordingHandler(HttpBodies, request => FailRequest(request), request => LoseResponse(request),
                (request, response) => RewriteResponse is { } rewrite ? rewrite(request, response) : Task.FromResult(response)),
            KdfParameters = new PassphraseKeyParameters(8 * 1024, 1),
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            MaxAttempts = 3,
            Time = Time,
        };
        return PigeonCli.RunAsync(args, context, ct);
    }

    /// <summary>Runs <c>pigeon --profile NAME args</c>.</summary>
    public Task<CliRun> RunAsync(string profile, params string[] args) =>
        RunAsync(["--profile", profile, .. args], null, TestContext.Current.CancellationToken);

    /// <summary>Runs and asserts exit code 0, returning stdout.</summary>
    public async Task<string> OkAsync(string profile, params string[] args)
    {
        var run = await RunAsync(profile, args);
        Assert.True(run.ExitCode == 0, $"pigeon {string.Join(' ', args)} failed: {run}");
        return run.Output;
    }

    public void Dispose()
    {
        if (_ownsHome && Directory.Exists(Home))
        {
            Directory.Delete(Home, recursive: true);
        }
    }
}

/// <summary>The system clock moved by a fixed offset; its timers stay real.</summary>
public sealed class ShiftedTime(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
}

/// <summary>A stdin the test types into line by line; it blocks like a terminal until a line or the end comes.</summary>
public sealed class TypedInput : TextReader
{
    private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();

    public void Type(string line) => _lines.Writer.TryWrite(line);

    public void End() => _lines.Writer.TryComplete();

    public override async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) =>
        await _lines.Reader.WaitToReadAsync(cancellationToken) && _lines.Reader.TryRead(out var line) ? line : null;
}

/// <summary>A stdout that a test can watch while a command still writes to it from other threads.</summary>
public sealed class WatchedOutput : TextWriter
{
    private readonly System.Text.StringBuilder _text = new();
    private readonly Lock _lock = new();

    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_lock)
        {
            _text.Append(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            _text.Append(value);
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return _text.ToString();
        }
    }

    /// <summary>Waits until the output contains <paramref name="expected"/>.</summary>
    public async Task WaitForAsync(string expected, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!ToString().Contains(expected, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{expected}' did not appear; the output is:\n{this}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }
}
