using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>The built <c>pigeon.dll</c> as a real process.</summary>
public sealed class ExecutableTests
{
    [Fact]
    public async Task Pigeon_Help_AsAProcess_ExitsZero()
    {
        var (exitCode, output) = await AppProcess.RunAsync(
            BuiltApps.AssemblyOf("Pigeon.Client", "pigeon"), new Dictionary<string, string>(), TimeSpan.FromSeconds(60), "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("Exit codes", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pigeon_WithoutAProfile_AsAProcess_ExitsTwo()
    {
        var home = Path.Combine(Path.GetTempPath(), $"pigeon-exe-{Guid.NewGuid():N}");
        var (exitCode, output) = await AppProcess.RunAsync(
            BuiltApps.AssemblyOf("Pigeon.Client", "pigeon"), new Dictionary<string, string> { ["PIGEON_HOME"] = home }, TimeSpan.FromSeconds(60), "contacts");

        Assert.Equal(2, exitCode);
        Assert.Contains("pigeon init", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(home));
    }
}
