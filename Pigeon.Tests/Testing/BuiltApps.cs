using System.Net;
using System.Net.Sockets;

namespace Pigeon.Tests.Testing;

/// <summary>Finds the built Pigeon apps next to this test assembly's build, and free loopback ports.</summary>
public static class BuiltApps
{
    /// <summary>The repository's root: the first folder above the test assembly that holds Pigeon.sln.</summary>
    public static string Repository { get; } = FindRepository();

    /// <summary>The path of an app's built assembly, in the same configuration as the tests.</summary>
    public static string AssemblyOf(string project, string? assemblyName = null)
    {
        // The tests run from <repo>/Pigeon.Tests/<tier>/bin/<Configuration>/<tfm>/.
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var path = Path.Combine(Repository, project, "bin", configuration, tfm, $"{assemblyName ?? project}.dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{project} is not built at {path}: build the solution before running the tests.", path);
    }

    private static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Pigeon.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Pigeon.sln above {AppContext.BaseDirectory}.");
    }

    private static readonly HashSet<int> s_handedOut = [];

    /// <summary>
    /// A TCP port on 127.0.0.1 that nothing listens on right now and that this test process has not
    /// handed out before.
    /// </summary>
    public static int FreePort()
    {
        // The kernel may give the same ephemeral port to two binds in a row once the first is closed,
        // so two ports asked for one after the other (a silo's silo and gateway ports) could collide.
        lock (s_handedOut)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (s_handedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
