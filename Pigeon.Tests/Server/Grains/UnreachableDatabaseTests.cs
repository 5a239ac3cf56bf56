using Npgsql;
using Orleans.TestingHost;
using Pigeon.Grains.Abstractions;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Grains.Hosting;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Grains;

/// <summary>
/// With the database unreachable, mailbox calls fail with the retryable, serializable
/// <see cref="ServiceUnavailableException"/>, never with a database exception the caller cannot decode.
/// </summary>
public sealed class UnreachableDatabaseTests : IAsyncLifetime
{
    private static string? s_connectionString;
    private TestCluster? _cluster;

    public async ValueTask InitializeAsync()
    {
        // Nothing listens on this port: every connection attempt is refused at once.
        s_connectionString = $"Host=127.0.0.1;Port={BuiltApps.FreePort()};Username=nobody;Timeout=2";
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Mailbox_WithDatabaseDown_FailsEveryCallAsServiceUnavailable()
    {
        var mailbox = _cluster!.GrainFactory.GetGrain<IMailboxGrain>($"mailbox-{Guid.NewGuid():N}");

        await Assert.ThrowsAsync<ServiceUnavailableException>(() => mailbox.DepositAsync(Guid.NewGuid(), [1, 2, 3]));
        await Assert.ThrowsAsync<ServiceUnavailableException>(() => mailbox.ReceiveAsync(0, 10, TimeSpan.Zero, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ServiceUnavailableException>(() => mailbox.AckAsync([Guid.NewGuid()]));
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            // Everything but the grain storage, which would read its queries from the database at start.
            siloBuilder.Services.AddPigeonGrains(NpgsqlDataSource.Create(s_connectionString!));
            siloBuilder.AddMemoryGrainStorage(PigeonStorage.Accounts);
        }
    }
}
