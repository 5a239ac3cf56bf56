using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// The Dockerfiles under <c>deploy/docker</c>, read as text (no container engine is needed):
/// multi-stage builds from the SDK to a runtime image, restore pinned by the lock files, a non-root
/// user, the right entry assembly, and the ports the Helm chart uses exposed.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string, string, string, int[]> Images => new()
    {
        { "silo.Dockerfile", "Pigeon.Silo", "mcr.microsoft.com/dotnet/aspnet:10.0", [11111, 30000, 8080] },
        { "gateway.Dockerfile", "Pigeon.Gateway", "mcr.microsoft.com/dotnet/aspnet:10.0", [8080] },
        { "client.Dockerfile", "Pigeon.Client", "mcr.microsoft.com/dotnet/runtime:10.0", [] },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_BuildsWithTheSdk_AndRunsOnTheRuntimeImage(string file, string project, string runtimeImage, int[] ports)
    {
        _ = ports;
        var instructions = Instructions(file);
        var stages = instructions.Where(i => i.Command == "FROM").Select(i => i.Arguments.Split(' ')[0]).ToList();

        Assert.True(stages.Count >= 2, $"{file} is not a multi-stage build.");
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", stages[0]);
        Assert.Equal(runtimeImage, stages[^1]);
        Assert.Contains(instructions, i => i.Command == "RUN" && i.Arguments.Contains($"dotnet restore {project}/{project}.csproj", StringComparison.Ordinal)
            && i.Arguments.Contains("--locked-mode", StringComparison.Ordinal));
        Assert.Contains(instructions, i => i.Command == "RUN" && i.Arguments.Contains($"dotnet publish {project}/{project}.csproj", StringComparison.Ordinal)
            && i.Arguments.Contains("-c Release", StringComparison.Ordinal));
        Assert.Contains(FinalStage(instructions), i => i.Command == "COPY" && i.Arguments.StartsWith("--from=", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_CopiesEveryProjectItNeeds_WithItsLockFile_BeforeRestoring(string file, string project, string runtimeImage, int[] ports)
    {
        _ = (runtimeImage, ports);
        var instructions = Instructions(file);
        var restore = instructions.FindIndex(i => i.Command == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal));
        var copiedBeforeRestore = string.Join('\n', instructions.Take(restore).Where(i => i.Command == "COPY").Select(i => i.Arguments));

        foreach (var needed in ProjectClosure(project))
        {
            Assert.Contains($"{needed}/{needed}.csproj", copiedBeforeRestore, StringComparison.Ordinal);
            Assert.Contains($"{needed}/packages.lock.json", copiedBeforeRestore, StringComparison.Ordinal);
        }

        foreach (var shared in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json" })
        {
            Assert.Contains(shared, copiedBeforeRestore, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_RunsAsNonRoot_TheProjectsAssembly_ExposingItsPorts(string file, string project, string runtimeImage, int[] ports)
    {
        _ = runtimeImage;
        var final = FinalStage(Instructions(file));

        var user = Assert.Single(final, i => i.Command == "USER").Arguments;
        Assert.DoesNotMatch("^(root|0)(:.*)?$", user);
        var entrypoint = Assert.Single(final, i => i.Command == "ENTRYPOINT").Arguments;
        Assert.Equal($"[\"dotnet\", \"{AssemblyName(project)}.dll\"]", entrypoint);
        var exposed = final.Where(i => i.Command == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).ToHashSet();
        Assert.Equal(ports.ToHashSet(), exposed);
    }

    [Fact]
    public void DockerIgnore_KeepsBuildOutputAndLocalState_OutOfTheContext()
    {
        var lines = File.ReadAllLines(Scripts.PathOf(".dockerignore")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);

        foreach (var pattern in new[] { "**/bin/", "**/obj/", ".git/", ".dev/", ".tools/" })
        {
            Assert.Contains(pattern, lines);
        }
    }

    private static List<Instruction> Instructions(string file)
    {
        var text = File.ReadAllText(Scripts.PathOf("deploy", "docker", file));
        // Join continuation lines, drop comments and blank lines.
        text = Regex.Replace(text, @"\\\r?\n\s*", " ");
        return [.. text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', 2))
            .Select(p => new Instruction(p[0].ToUpperInvariant(), p.Length > 1 ? p[1].Trim() : ""))];
    }

    private static List<Instruction> FinalStage(List<Instruction> instructions) =>
        instructions[instructions.FindLastIndex(i => i.Command == "FROM")..];

    /// <summary>The project and every project it references, transitively.</summary>
    private static HashSet<string> ProjectClosure(string project)
    {
        var closure = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (!closure.Add(current))
            {
                continue;
            }

            foreach (var reference in Csproj(current).Descendants("ProjectReference"))
            {
                pending.Push(Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value.Replace('\\', '/')));
            }
        }

        return closure;
    }

    private static string AssemblyName(string project) =>
        Csproj(project).Descendants("AssemblyName").FirstOrDefault()?.Value ?? project;

    private static XDocument Csproj(string project) => XDocument.Load(Scripts.PathOf(project, $"{project}.csproj"));

    private sealed record Instruction(string Command, string Arguments);
}
