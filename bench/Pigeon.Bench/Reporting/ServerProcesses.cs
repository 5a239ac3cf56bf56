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
    private readonly int? _postmaster;
    private readonly Dictionary<int, long> _postgresStart = [];

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

        if (ReadPidFile(Path.Combine(dev, "postgres", "postmaster.pid")) is { } postmaster && IsAlive(postmaster))
        {
            _postmaster = postmaster;
            _postgresStart = PostgresTicks(postmaster);
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
    public IReadOnlyList<ProcessCpu> CpuSinceStart()
    {
        var result = _start.Select(p => new ProcessCpu(p.Key, p.Value.Name, ((CpuTicks(p.Key) ?? p.Value.Ticks) - p.Value.Ticks) / ClockTicksPerSecond)).ToList();
        if (_postmaster is { } postmaster)
        {
            // Backends started during the run count whole; the pools keep most of them for the run.
            var ticks = PostgresTicks(postmaster).Sum(p => p.Value - _postgresStart.GetValueOrDefault(p.Key));
            result.Add(new ProcessCpu(postmaster, "postgres (all backends)", ticks / ClockTicksPerSecond));
        }

        return result;
    }

    /// <summary>CPU ticks of the postmaster and each of its children (the backends), by pid.</summary>
    private static Dictionary<int, long> PostgresTicks(int postmaster)
    {
        var ticks = new Dictionary<int, long>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (pid == postmaster || fields[1] == postmaster.ToString(CultureInfo.InvariantCulture))
                {
                    ticks[pid] = ParseCpuTicks(stat);
                }
            }
            catch (IOException)
            {
                // The process ended between the listing and the read.
            }
        }

        return ticks;
    }

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
            // postmaster.pid holds more lines after the pid.
            return int.TryParse(File.ReadLines(path).FirstOrDefault()?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
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
