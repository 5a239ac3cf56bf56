using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Pigeon.Grains.Mailboxes;
using Pigeon.Hosting.Cluster;
using Pigeon.Hosting.Database;
using Pigeon.Silo;
using Pigeon.Silo.Hosting;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// The real silo (its entry point, options and pipeline) serving the HTTP API co-hosted, in memory:
/// a cluster of its own on the fixture's database, on real Orleans sockets, with the fixture's
/// mailbox limits, one fake clock for the API and the grains, and its logs kept.
/// </summary>
internal sealed class CoHostedSiloFactory(string connectionString, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<SiloProgram>, IApiHost
{
    public string TokenSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));

    public FakeTimeProvider GrainClock => Clock;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public ConcurrentQueue<string> Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting($"ConnectionStrings:{PigeonDatabase.ConnectionStringName}", connectionString);
        builder.UseSetting($"{PigeonClusterOptions.Section}:ClusterId", $"cohosted-{Guid.NewGuid():N}");
        builder.UseSetting($"{PigeonClusterOptions.Section}:ServiceId", "pigeon-tests-cohosted");
        builder.UseSetting($"{PigeonSiloOptions.Section}:ServeApi", "true");
        builder.UseSetting($"{PigeonSiloOptions.Section}:SiloPort", BuiltApps.FreePort().ToString(CultureInfo.InvariantCulture));
        builder.UseSetting($"{PigeonSiloOptions.Section}:GatewayPort", BuiltApps.FreePort().ToString(CultureInfo.InvariantCulture));
        builder.UseSetting($"{PigeonSiloOptions.Section}:ShutdownTimeout", "00:00:05");
        // Several of these run beside the fixture's cluster on one PostgreSQL.
        builder.UseSetting($"{PigeonSiloOptions.Section}:DatabasePoolSize", "8");
        builder.UseSetting($"{PigeonSiloOptions.Section}:MembershipDatabasePoolSize", "2");
        builder.UseSetting($"{MailboxOptions.Section}:MaxEnvelopes", PigeonClusterFixture.MaxEnvelopes.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting($"{MailboxOptions.Section}:MaxBytes", PigeonClusterFixture.MaxBytes.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting($"{MailboxOptions.Section}:RecentEnvelopesHeld", PigeonClusterFixture.RecentEnvelopesHeld.ToString(CultureInfo.InvariantCulture));
        this.ConfigureApi(builder, settings);
    }
}
