using System.Net;
using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Silo.Hosting;

/// <summary>
/// Where the silo listens and how many database connections it opens, bound from configuration
/// section <c>Pigeon:Silo</c> (environment: <c>Pigeon__Silo__SiloPort</c> and so on). Which cluster
/// it joins is <c>Pigeon:Cluster</c> (<see cref="Pigeon.Hosting.Cluster.PigeonClusterOptions"/>), the
/// same section the gateways read; the database connection string is <c>ConnectionStrings:Pigeon</c>.
/// </summary>
public sealed class PigeonSiloOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Silo";

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
    /// The most connections this silo opens for its grains: envelopes, prekeys and the account
    /// grains' state (Orleans grain storage shares this pool). Default 32: deposits share one
    /// group-commit connection and waiting receives hold none, so a few dozen serve thousands.
    /// Plan PostgreSQL's <c>max_connections</c> as silos × (this + <see cref="MembershipDatabasePoolSize"/>).
    /// </summary>
    public int DatabasePoolSize { get; set; } = 32;

    /// <summary>
    /// The most connections Orleans' cluster membership opens on this silo, in a pool of its own so
    /// that a busy silo still renews its membership. Default 8.
    /// </summary>
    public int MembershipDatabasePoolSize { get; set; } = 8;

    /// <summary>
    /// Serve the HTTP API in this process as well (co-hosted): the same routes, authentication, limits
    /// and problems as <c>Pigeon.Gateway</c>, calling this silo's grains without a network hop. Needs
    /// the gateway's settings too (<c>Pigeon:Auth</c>, <c>Pigeon:Limits</c>, ...). Default false: the
    /// API is served by separate gateways (docs/deploying.md says when to choose which).
    /// </summary>
    public bool ServeApi { get; set; }

    /// <summary>
    /// Serve the Orleans dashboard (grains, silos, calls, reminders) at <c>/dashboard/</c>, on the
    /// metrics port only (<c>Pigeon:Metrics:Port</c>, which must then be set), for operators. It can
    /// show grain state, so that port must stay off any public Service. Default false.
    /// </summary>
    public bool Dashboard { get; set; }

    /// <summary>How long a stopping silo may take to hand its grains over. Default 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class PigeonSiloOptionsValidator : IValidateOptions<PigeonSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, PigeonSiloOptions options)
    {
        var problems = new OptionsProblems(PigeonSiloOptions.Section);
        problems.Require(options.SiloPort is > 0 and <= 65535, nameof(options.SiloPort), $"must be a port between 1 and 65535 (was {options.SiloPort}).");
        problems.Require(options.GatewayPort is > 0 and <= 65535, nameof(options.GatewayPort), $"must be a port between 1 and 65535 (was {options.GatewayPort}).");
        problems.Require(options.SiloPort != options.GatewayPort, nameof(options.GatewayPort), "must differ from SiloPort.");
        problems.Require(
            IPAddress.TryParse(options.AdvertisedAddress, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any),
            nameof(options.AdvertisedAddress),
            $"must be an IP address other silos can reach, not '{options.AdvertisedAddress}'.");
        problems.Require(options.ShutdownTimeout > TimeSpan.Zero, nameof(options.ShutdownTimeout), "must be positive.");
        problems.Require(options.DatabasePoolSize is > 0 and <= 1000, nameof(options.DatabasePoolSize), "must be between 1 and 1000.");
        problems.Require(options.MembershipDatabasePoolSize is > 0 and <= 1000, nameof(options.MembershipDatabasePoolSize), "must be between 1 and 1000.");
        return problems.Result();
    }
}
