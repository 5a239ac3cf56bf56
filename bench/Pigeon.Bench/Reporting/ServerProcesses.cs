using System.Globalization;

namespace Pigeon.Bench.Reporting;

/// <summary>CPU time of one server process over the run.</summary>
public sealed record ProcessCpu(int Pid, string Name, double CpuSeconds);

/// <summary>
/// Reads the server processes' resource use from <c>/proc</c>: resident memory from
/// <c>status</c> (VmRSS) and CPU time from <c>stat</c> (utime + stime, in clock ticks).
/// </summary>
public sealed class ServerProcesses
{
    // Linux reports stat times in USER_HZ, which is 100 on every architecture .NET runs on.
    private const double ClockTicksPerSecond = 100;
    private readonly Dictionary<int, (string Name, long Ticks)> _start = [];

    /// <summary>The gateway's pid, when known.</summary>
    public int? GatewayPid { get; }

    /// <summary>The processes whose CPU time is reported.</summary>
    public IReadOnlyList<(int Pid, string Name)> Watched { get; }

    /// <summary>
    /// Takes the pids given, else those recorded by the dev stack in <paramref name="devDirectory"/>
    /// (or <c>$PIGEON_DEV_DIR</c>, or <c>.dev/local</c>).
    /// </summary>
    public ServerProcesses(int? gatewayPid, IReadOnlyList<int> pids, string? devDirectory)
    {
        var dev = devDirectory ?? Environment.GetEnvironmentVariable("PIGEON_DEV_DIR") ?? Path.Combine(".dev", "local");
        var recorded = new List<(int, string)>();
        foreach (var name in new[] { "gateway", "silo-1", "silo-2" })
        {
            if (ReadPidFile(Path.Combine(dev, name + ".pid")) is { } pid && IsAlive(pid))
            {
                recorded.Add((pid, name));
            }
        }

        GatewayPid = gatewayPid ?? recorded.Where(p => p.Item2 == "gateway").Select(p => (int?)p.Item1).FirstOrDefault();
        Watched = pids.Count > 0 ? [.. pids.Select(p => (p, NameOf(p)))] : recorded;
        foreach (var (pid, name) in Watched)
        {
            if (CpuTicks(pid) is { } ticks)
            {
                _start[pid] = (name, ticks);
            }
        }
    }

    /// <summary>The gateway's resident memory in MiB, or null when unknown.</summary>
    public double? GatewayRssMiB() => GatewayPid is { } pid ? RssMiB(pid) : null;

    /// <summary>CPU seconds each watched process used since this object was made.</summary>
    public IReadOnlyList<ProcessCpu> CpuSinceStart() =>
        [.. _start.Select(p => new ProcessCpu(p.Key, p.Value.Name, ((CpuTicks(p.Key) ?? p.Value.Ticks) - p.Value.Ticks) / ClockTicksPerSecond))];

    /// <summary>VmRSS of a process in MiB, or null when it cannot be read.</summary>
    public static double? RssMiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kib / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>utime + stime of a process in clock ticks, or null when it cannot be read.</summary>
    public static long? CpuTicks(int pid)
    {
        try
        {
            return ParseCpuTicks(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>utime + stime from the text of <c>/proc/PID/stat</c> (fields 14 and 15; the name in parentheses may hold spaces).</summary>
    public static long ParseCpuTicks(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so field n is fields[n - 3].
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static int? ReadPidFile(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    private static string NameOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
