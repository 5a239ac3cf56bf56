using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pigeon.Tests.Testing;

/// <summary>
/// A Pigeon app run as a real child process (<c>dotnet App.dll</c>), its output captured so tests can
/// read the logs. Disposing kills it if it still runs.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private AppProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    /// <summary>A name for messages.</summary>
    public string Name { get; }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>The operating system's id of the process.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>dotnet assembly args</c> with the given environment.</summary>
    public static AppProcess Start(string name, string assembly, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(name, assembly, environment, piped: false, arguments);

    /// <summary>
    /// Starts <c>dotnet assembly args</c> with stdin and stdout as pipes the test speaks over
    /// (<see cref="StandardInput"/>, <see cref="StandardOutput"/>); only stderr goes to <see cref="Output"/>.
    /// </summary>
    public static AppProcess StartPiped(string name, string assembly, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(name, assembly, environment, piped: true, arguments);

    /// <summary>The process's stdin, for <see cref="StartPiped"/>.</summary>
    public Stream StandardInput => _process.StandardInput.BaseStream;

    /// <summary>The process's stdout, for <see cref="StartPiped"/>.</summary>
    public Stream StandardOutput => _process.StandardOutput.BaseStream;

    private static AppProcess Start(string name, string assembly, IReadOnlyDictionary<string, string> environment, bool piped, string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = piped,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        startInfo.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Production";
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var app = new AppProcess(process, name);
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) app._output.Enqueue(line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) app._output.Enqueue(line.Data); };
        process.Start();
        if (!piped)
        {
            process.BeginOutputReadLine();
        }

        process.BeginErrorReadLine();
        return app;
    }

    /// <summary>Runs <c>dotnet assembly args</c> to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string assembly, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] arguments)
    {
        await using var app = Start(Path.GetFileNameWithoutExtension(assembly), assembly, environment, arguments);
        using var cancellation = new CancellationTokenSource(timeout);
        await app._process.WaitForExitAsync(cancellation.Token);
        app._process.WaitForExit();
        return (app._process.ExitCode, app.Output);
    }

    /// <summary>Ends the process at once, as a crash or an OOM kill would (SIGKILL).</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Asks the process to stop (SIGTERM) and waits for it to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw new TimeoutException($"{Name} did not stop within {timeout} of SIGTERM.");
        }
    }

    /// <summary>The exit code, once exited.</summary>
    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
