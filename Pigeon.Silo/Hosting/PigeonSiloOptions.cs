using System.Net;
using Microsoft.Extensions.Options;
using Pigeon.Grains.Hosting;

namespace Pigeon.Silo.Hosting;

/// <summary>
/// Where the silo listens and which cluster it joins, bound from configuration section
/// <c>Pigeon:Silo</c> (environment: <c>Pigeon__Silo__SiloPort</c> and so on). The database
/// connection string is <c>ConnectionStrings:Pigeon</c>.
/// </summary>
public sealed class PigeonSiloOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Silo";

    /// <summary>The configuration key of the PostgreSQL connection string.</summary>
    public const string ConnectionStringName = "Pigeon";

    /// <summary>Identifies the service across deployments; grain state is keyed by it. Default <c>pigeon</c>.</summary>
    public string ServiceId { get; set; } = "pigeon";

    /// <summary>Identifies this cluster: silos and gateways with the same id find each other. Default <c>local</c>.</summary>
    public string ClusterId { get; set; } = "local";

    /// <summary>The port silos talk to each other on. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port Orleans clients (gateways) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The IP address other silos and gateways reach this silo at (in Kubernetes, the pod IP).
    /// Default 127.0.0.1, for a cluster on one machine.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Listen on every interface rather than only the advertised address (containers). Default false.</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>
    /// The most connections this silo opens for envelopes and prekeys. Default 32: deposits share
    /// one group-commit connection and waiting receives hold none, so a few dozen serve thousands.
    /// Plan PostgreSQL's <c>max_connections</c> as silos × (this + <see cref="OrleansDatabasePoolSize"/>).
    /// </summary>
    public int DatabasePoolSize { get; set; } = 32;

    /// <summary>The most connections Orleans' clustering and grain storage open on this silo. Default 16.</summary>
    public int OrleansDatabasePoolSize { get; set; } = 16;

    /// <summary>How long a stopping silo may take to hand its grains over. Default 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class PigeonSiloOptionsValidator : IValidateOptions<PigeonSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, PigeonSiloOptions options)
    {
        var problems = new OptionsProblems(PigeonSiloOptions.Section);
        problems.Require(!string.IsNullOrWhiteSpace(options.ServiceId), nameof(options.ServiceId), "must not be empty.");
        problems.Require(!string.IsNullOrWhiteSpace(options.ClusterId), nameof(options.ClusterId), "must not be empty.");
        problems.Require(options.SiloPort is > 0 and <= 65535, nameof(options.SiloPort), $"must be a port between 1 and 65535 (was {options.SiloPort}).");
        problems.Require(options.GatewayPort is > 0 and <= 65535, nameof(options.GatewayPort), $"must be a port between 1 and 65535 (was {options.GatewayPort}).");
        problems.Require(options.SiloPort != options.GatewayPort, nameof(options.GatewayPort), "must differ from SiloPort.");
        problems.Require(
            IPAddress.TryParse(options.AdvertisedAddress, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any),
            nameof(options.AdvertisedAddress),
            $"must be an IP address other silos can reach, not '{options.AdvertisedAddress}'.");
        problems.Require(options.ShutdownTimeout > TimeSpan.Zero, nameof(options.ShutdownTimeout), "must be positive.");
        problems.Require(options.DatabasePoolSize is > 0 and <= 1000, nameof(options.DatabasePoolSize), "must be between 1 and 1000.");
        problems.Require(options.OrleansDatabasePoolSize is > 0 and <= 1000, nameof(options.OrleansDatabasePoolSize), "must be between 1 and 1000.");
        return problems.Result();
    }
}
