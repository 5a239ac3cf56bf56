namespace Pigeon.Client.Daemon;

/// <summary>
/// The one-daemon-per-profile lock: <c>daemon.lock</c> in the profile folder, held open exclusively
/// (an advisory <c>flock</c> on Unix) for the daemon's life. The kernel drops it when the process
/// dies, so a crashed daemon never blocks the next one.
/// </summary>
internal sealed class DaemonLock : IDisposable
{
    /// <summary>The lock file's name in the profile folder.</summary>
    public const string FileName = "daemon.lock";

    private readonly FileStream _file;

    private DaemonLock(FileStream file) => _file = file;

    /// <summary>Takes the lock, or throws a <see cref="Cli.CliException"/> saying another daemon holds it.</summary>
    public static DaemonLock Take(string profileDirectory)
    {
        var path = Path.Combine(profileDirectory, FileName);
        try
        {
            return new DaemonLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException exception)
        {
            throw new Cli.CliException(Cli.ExitCodes.UsageError, $"Another pigeon daemon is running for this profile ({path} is locked); stop it first.", exception);
        }
    }

    public void Dispose() => _file.Dispose();
}
