using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Hosting.Cluster;

/// <summary>
/// Which Orleans cluster a process belongs to, bound from <c>Pigeon:Cluster</c> on silos and gateways
/// alike (environment <c>Pigeon__Cluster__ClusterId</c> and so on): processes with the same two ids
/// find each other through the membership table.
/// </summary>
public sealed class PigeonClusterOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Cluster";

    /// <summary>Identifies the service across deployments; grain state is keyed by it, so it never changes. Default <c>pigeon</c>.</summary>
    public string ServiceId { get; set; } = "pigeon";

    /// <summary>Identifies this cluster: silos and gateways with the same id find each other. Default <c>local</c>.</summary>
    public string ClusterId { get; set; } = "local";

    /// <summary>The settings in <see cref="Section"/> of <paramref name="configuration"/>; the defaults where it is absent.</summary>
    public static PigeonClusterOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<PigeonClusterOptions>() ?? new PigeonClusterOptions();

    /// <summary>
    /// Problems with the cluster settings of <paramref name="configuration"/>: its ids and its TLS
    /// (<see cref="ClusterTlsOptions"/>); none when they are usable.
    /// </summary>
    public static IEnumerable<string> Check(IConfiguration configuration) =>
        configuration.Check(Section, new PigeonClusterOptionsValidator()).Concat(ClusterTlsOptions.From(configuration).Validate());
}

internal sealed class PigeonClusterOptionsValidator : IValidateOptions<PigeonClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, PigeonClusterOptions options)
    {
        var problems = new OptionsProblems(PigeonClusterOptions.Section);
        problems.Require(!string.IsNullOrWhiteSpace(options.ServiceId), nameof(options.ServiceId), "must not be empty.");
        problems.Require(!string.IsNullOrWhiteSpace(options.ClusterId), nameof(options.ClusterId), "must not be empty.");
        return problems.Result();
    }
}
