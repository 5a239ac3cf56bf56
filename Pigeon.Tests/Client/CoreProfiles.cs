using Pigeon.Messaging;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Tests.Client;

/// <summary>Profiles of the client core in a temporary folder, made and opened over an <see cref="InMemoryApi"/>.</summary>
public sealed class CoreProfiles(MessagingEnvironment environment) : IDisposable
{
    /// <summary>Profiles over <paramref name="api"/> with the given clock.</summary>
    public CoreProfiles(InMemoryApi api, TimeProvider? time = null)
        : this(api.Environment(time))
    {
    }

    private readonly string _home = Path.Combine(Path.GetTempPath(), $"pigeon-core-{Guid.NewGuid():N}");
    private readonly List<ProfileSession> _sessions = [];

    /// <summary>The core's environment (usually the in-memory API and a clock).</summary>
    public MessagingEnvironment Environment { get; } = environment;

    /// <summary>
    /// Creates profile <paramref name="name"/> (registered, prekeys published) and opens it: under
    /// <paramref name="passphrase"/>, or a plaintext profile for null.
    /// </summary>
    public async Task<ProfileSession> CreateAsync(string name, string? passphrase = null, string? displayName = null)
    {
        await ProfileSession.CreateAsync(Environment, DirectoryOf(name), InMemoryApi.Server, displayName ?? name, passphrase, TestContext.Current.CancellationToken);
        return Open(name, passphrase);
    }

    /// <summary>Opens profile <paramref name="name"/> again, as a new process would.</summary>
    public ProfileSession Open(string name, string? passphrase = null)
    {
        var session = ProfileSession.Open(Environment, DirectoryOf(name), () => passphrase);
        _sessions.Add(session);
        return session;
    }

    /// <summary>The database file of a profile.</summary>
    public string DatabasePath(string name) => Path.Combine(DirectoryOf(name), Pigeon.Messaging.Store.ProfileDatabase.FileName);

    /// <summary>The folder of a profile.</summary>
    public string DirectoryOf(string name) => Path.Combine(_home, name);

    public void Dispose()
    {
        foreach (var session in _sessions)
        {
            session.Dispose();
        }

        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }
}
