using System.Diagnostics;
using System.Text;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Deployment;

/// <summary>The checkout the tests were built from, and its shell scripts run as child processes.</summary>
public static class Scripts
{
    /// <summary>The repository root (the folder holding <c>Pigeon.sln</c>).</summary>
    public static string RepositoryRoot => BuiltApps.Repository;

    /// <summary>A path inside the repository.</summary>
    public static string PathOf(params string[] parts) => Path.Combine([RepositoryRoot, .. parts]);

    /// <summary>
    /// Runs <c>bash scripts/&lt;script&gt; args</c> from the repository root and returns its exit code
    /// and output; kills it (and its process group) when the timeout passes.
    /// </summary>
    public static async Task<ScriptResult> RunAsync(
        string script, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        startInfo.ArgumentList.Add(PathOf("scripts", script));
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        using var process = new Process { StartInfo = startInfo };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) { lock (stdout) { stdout.AppendLine(line.Data); } } };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) { lock (stderr) { stderr.AppendLine(line.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/{script} {string.Join(' ', arguments)} did not finish within {timeout}:\n{stdout}\n{stderr}");
        }

        process.WaitForExit();
        return new ScriptResult(process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>What a script run printed and how it ended.</summary>
public sealed record ScriptResult(int ExitCode, string Output, string Error)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
