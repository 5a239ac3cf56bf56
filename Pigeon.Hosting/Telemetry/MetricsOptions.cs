using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Hosting.Telemetry;

/// <summary>Where a host serves its Prometheus metrics, bound from <c>Pigeon:Metrics</c> on silos and gateways alike.</summary>
public sealed class MetricsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Metrics";

    /// <summary>
    /// A port of its own for <c>/metrics</c>, which must also be one of the addresses in <c>Urls</c>.
    /// When set, <c>/metrics</c> answers only on connections to this port (404 elsewhere), so a
    /// Service or ingress that publishes the API port does not publish the metrics. Default 0:
    /// <c>/metrics</c> answers on every address the host listens on.
    /// </summary>
    public int Port { get; set; }

    /// <summary>The settings in <see cref="Section"/> of <paramref name="configuration"/>; the defaults where it is absent.</summary>
    public static MetricsOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<MetricsOptions>() ?? new MetricsOptions();

    /// <summary>Problems with these settings of <paramref name="configuration"/>, among them a port the host does not listen on; none when usable.</summary>
    public static IEnumerable<string> Check(IConfiguration configuration)
    {
        var problems = configuration.Check(Section, new MetricsOptionsValidator()).ToList();
        // The check across settings runs only on a section that is well formed itself.
        if (problems.Count == 0 && From(configuration) is { Port: not 0 } metrics && !ListensOn(configuration, metrics.Port))
        {
            problems.Add($"{Section}:Port {metrics.Port} is not a port of the addresses in Urls (\"{configuration[WebHostDefaults.ServerUrlsKey]}\"): add one, e.g. http://+:{metrics.Port}, or /metrics answers nowhere.");
        }

        return problems;
    }

    // Kestrel endpoints configured in a section of their own are not checked: only Urls is.
    private static bool ListensOn(IConfiguration configuration, int port) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren().Any()
        || (configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(url => TryParsePort(url) == port);

    private static int? TryParsePort(string url)
    {
        try
        {
            return BindingAddress.Parse(url).Port;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var problems = new OptionsProblems(MetricsOptions.Section);
        problems.Require(options.Port is >= 0 and <= 65535, nameof(options.Port), "must be a TCP port (1-65535), or 0 to serve /metrics on every address.");
        return problems.Result();
    }
}
