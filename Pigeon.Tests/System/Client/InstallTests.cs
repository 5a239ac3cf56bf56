using System.Diagnostics;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// The two ways the README installs <c>pigeon</c>, done as a user would: a .NET tool packed from the
/// checkout and installed into a folder, and a self-contained single file; each then runs.
/// </summary>
public sealed class InstallTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"pigeon-install-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task DotnetPack_ThenToolInstall_GivesAPigeonCommandThatRuns()
    {
        var project = Path.Combine(BuiltApps.Repository, "Pigeon.Client", "Pigeon.Client.csproj");
        var packages = Path.Combine(_folder, "packages");
        var tools = Path.Combine(_folder, "tools");

        // A version of its own, so that no package left in the NuGet cache by an earlier run is installed instead.
        var version = $"0.0.0-test{Guid.NewGuid():N}";

        await RunAsync("dotnet", "pack", project, "--no-build", "-c", BuiltConfiguration, $"-p:Version={version}", "-o", packages);
        await RunAsync("dotnet", "tool", "install", "Pigeon.Cli", "--version", version, "--add-source", packages, "--tool-path", tools, "--ignore-failed-sources");
        var help = await RunAsync(Path.Combine(tools, "pigeon"), "--help");

        Assert.Contains("Exit codes", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfContainedSingleFilePublish_GivesOneExecutableThatRuns()
    {
        // A runtime-specific restore rewrites the projects' lock files (CI's locked mode refuses that), so it
        // runs on a copy of the sources.
        var sources = Path.Combine(_folder, "sources");
        CopySources(BuiltApps.Repository, sources);
        var project = Path.Combine(sources, "Pigeon.Client", "Pigeon.Client.csproj");
        var output = Path.Combine(_folder, "single");

        await RunAsync("dotnet", "publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "-p:PublishSingleFile=true",
            "-p:RestoreLockedMode=false", "-o", output);
        var help = await RunAsync(Path.Combine(output, "pigeon"), "--help");

        Assert.Contains("Exit codes", help, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(output), f => !f.EndsWith(".pdb", StringComparison.Ordinal) && !f.EndsWith(".xml", StringComparison.Ordinal));
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(from))
        {
            if (Path.GetFileName(directory) is not ("bin" or "obj" or ".git" or ".dev" or "node_modules"))
            {
                CopySources(directory, Path.Combine(to, Path.GetFileName(directory)));
            }
        }
    }

    // The tests run from <repo>/Pigeon.Tests/System/bin/<Configuration>/<tfm>/, beside the apps built alike.
    private static string BuiltConfiguration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    private static async Task<string> RunAsync(string program, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await error}");
        return await output;
    }
}
