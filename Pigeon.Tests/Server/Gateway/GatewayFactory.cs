using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Pigeon.Gateway.Hosting;
using Pigeon.Hosting;
using Pigeon.Hosting.Cluster;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// The real gateway (its Program, pipeline and options) in memory, as an Orleans client of the
/// test cluster through its silos' gateway endpoints; its own clock is fake and its logs are kept.
/// </summary>
public sealed class GatewayFactory(TestCluster cluster, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    /// <summary>The token key this gateway signs with.</summary>
    public string TokenSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The gateway's own clock (token and challenge expiry).</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>Every log line the gateway wrote, with its exception text.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting($"{PigeonClusterOptions.Section}:ClusterId", cluster.Options.ClusterId);
        builder.UseSetting($"{PigeonClusterOptions.Section}:ServiceId", cluster.Options.ServiceId);
        var gateways = cluster.Silos.Select(s => s.GatewayAddress.Endpoint.ToString()).ToList();
        for (var i = 0; i < gateways.Count; i++)
        {
            builder.UseSetting($"{GatewayClusterOptions.Section}:StaticGateways:{i}", gateways[i]);
        }

        builder.UseSetting($"{AuthOptions.Section}:TokenSigningKey", TokenSigningKey);
        // Every in-memory request comes from one address; tests of the limit itself lower it again.
        builder.UseSetting($"{LimitsOptions.Section}:AnonymousRequestsPerMinute", "1000000");
        builder.UseSetting($"{LimitsOptions.Section}:AccountBurst", "1000000");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new CapturingLoggerProvider(Logs)));
        builder.ConfigureTestServices(services => services.AddKeyedSingleton<TimeProvider>(PigeonTime.ServiceKey, Clock));
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, lines);

        public void Dispose()
        {
        }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
