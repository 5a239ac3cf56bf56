using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Pigeon.Hosting.Configuration;
using Pigeon.Hosting.Database;
using Pigeon.Silo.Hosting;

namespace Pigeon.Tests.Hosting;

/// <summary>The pieces both hosts share: how a database failure is judged, and how settings are checked.</summary>
public sealed class HostingTests
{
    [Theory]
    [InlineData("57P01", true)] // admin_shutdown: the server is restarting
    [InlineData("53300", true)] // too_many_connections
    [InlineData("08006", true)] // connection_failure
    [InlineData("23505", false)] // unique_violation: trying again gives the same answer
    [InlineData("42P01", false)] // undefined_table
    public void IsTransient_FollowsThePostgresErrorCode(string sqlState, bool transient)
    {
        var failure = new PostgresException("message", "FATAL", "FATAL", sqlState);

        Assert.Equal(transient, PigeonDatabase.IsTransient(failure));
    }

    [Fact]
    public void IsTransient_FindsTheDatabaseFailureInsideWhatWrapsIt()
    {
        var unreachable = new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused));
        var refused = new PostgresException("message", "ERROR", "ERROR", "23505");

        Assert.True(PigeonDatabase.IsTransient(new InvalidOperationException("outer", unreachable)));
        Assert.True(PigeonDatabase.IsTransient(new AggregateException(new TimeoutException(), unreachable)));
        Assert.False(PigeonDatabase.IsTransient(new InvalidOperationException("outer", refused)));
        Assert.False(PigeonDatabase.IsTransient(new TimeoutException("not the database")));
        Assert.Same(unreachable, PigeonDatabase.FindFailure(new AggregateException(new ArgumentException(), new InvalidOperationException("x", unreachable))));
    }

    [Fact]
    public void Check_WithAValueOfTheWrongType_NamesTheKeyButNeverTheValue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pigeon:Silo:SiloPort"] = "hunter2-is-not-a-port",
        }).Build();

        var problem = Assert.Single(configuration.Check(PigeonSiloOptions.Section, new PigeonSiloOptionsValidator()));

        Assert.Contains("Pigeon:Silo:SiloPort", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ReportsEveryBadValueOfASection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pigeon:Silo:SiloPort"] = "0",
            ["Pigeon:Silo:DatabasePoolSize"] = "0",
        }).Build();

        var problems = configuration.Check(PigeonSiloOptions.Section, new PigeonSiloOptionsValidator()).ToList();

        Assert.Contains(problems, p => p.StartsWith("Pigeon:Silo:SiloPort", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Pigeon:Silo:DatabasePoolSize", StringComparison.Ordinal));
    }
}
