using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pigeon.Gateway.Hosting;
using Pigeon.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>Which process serves the HTTP API under test.</summary>
public enum ApiMode
{
    /// <summary>The gateway, its own process, an Orleans client of the silos (the default shape).</summary>
    Gateway,

    /// <summary>A silo that serves the API itself (<c>Pigeon:Silo:ServeApi</c>) and calls its grains in-process.</summary>
    CoHosted,
}

/// <summary>The modes every API test runs in: the same suite for both shapes.</summary>
public static class ApiModes
{
    public static TheoryData<ApiMode> All => [ApiMode.Gateway, ApiMode.CoHosted];

    /// <summary>Every row of <paramref name="rows"/> in every mode, the mode first.</summary>
    public static TheoryData<ApiMode, T> Cross<T>(IEnumerable<T> rows)
    {
        var data = new TheoryData<ApiMode, T>();
        foreach (var row in rows)
        {
            data.Add(ApiMode.Gateway, row);
            data.Add(ApiMode.CoHosted, row);
        }

        return data;
    }
}

/// <summary>The HTTP API under test, in memory, whichever host serves it.</summary>
public interface IApiHost : IAsyncDisposable
{
    /// <summary>An HTTP client of the API.</summary>
    HttpClient CreateClient();

    /// <summary>The clock the API reads (tokens).</summary>
    FakeTimeProvider Clock { get; }

    /// <summary>The clock the grains behind it read (challenges, waits); the same as <see cref="Clock"/> when co-hosted.</summary>
    FakeTimeProvider GrainClock { get; }

    /// <summary>The grains the API calls.</summary>
    IGrainFactory Grains { get; }

    /// <summary>The token key the API signs with.</summary>
    string TokenSigningKey { get; }

    /// <summary>Every log line the host wrote, with its exception text.</summary>
    ConcurrentQueue<string> Logs { get; }
}

/// <summary>What every API host under test is given alike.</summary>
internal static class ApiHostSettings
{
    /// <summary>
    /// The host's token key, limits every in-memory test can live with, <paramref name="settings"/>
    /// over them, logging into <see cref="IApiHost.Logs"/> and <see cref="IApiHost.Clock"/> as Pigeon's clock.
    /// </summary>
    public static void ConfigureApi(this IApiHost host, IWebHostBuilder builder, IReadOnlyDictionary<string, string?>? settings)
    {
        builder.UseSetting($"{AuthOptions.Section}:TokenSigningKey", host.TokenSigningKey);
        // Every in-memory request comes from one address; tests of the limit itself lower it again.
        builder.UseSetting($"{LimitsOptions.Section}:AnonymousRequestsPerMinute", "1000000");
        builder.UseSetting($"{LimitsOptions.Section}:AccountBurst", "1000000");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new CapturingLoggerProvider(host.Logs)));
        builder.ConfigureTestServices(services => services.AddKeyedSingleton<TimeProvider>(PigeonTime.ServiceKey, host.Clock));
    }
}

/// <summary>Keeps every log line of a host under test.</summary>
internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
