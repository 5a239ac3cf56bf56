using Microsoft.Extensions.Configuration;
using Npgsql;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Pigeon.Hosting.Telemetry;

namespace Pigeon.Hosting.Cluster;

/// <summary>Puts a silo or a client (a gateway) into the Pigeon cluster its configuration names.</summary>
public static class PigeonClusterHostingExtensions
{
    /// <summary>
    /// Joins the cluster of <c>Pigeon:Cluster</c>, through the ADO.NET membership table on PostgreSQL
    /// (invariant <c>Npgsql</c>, a pool of its own of <paramref name="membershipPoolSize"/> connections
    /// named <paramref name="applicationName"/> in <c>pg_stat_activity</c>), with mutual TLS when
    /// <c>Pigeon:ClusterTls</c> names a certificate, and trace context carried along grain calls when
    /// traces are exported.
    /// </summary>
    public static ISiloBuilder UsePigeonCluster(
        this ISiloBuilder silo, IConfiguration configuration, string connectionString, int membershipPoolSize, string applicationName)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Configure<ClusterOptions>(options => ClusterIds(configuration, options));
        silo.UseAdoNetClustering(options =>
        {
            options.Invariant = "Npgsql";
            options.ConnectionString = MembershipConnectionString(connectionString, membershipPoolSize, applicationName);
        });
        if (ClusterCertificatesOf(configuration) is { } certificates)
        {
            // Silos and gateways alike must present a certificate of the cluster's authority.
            silo.UseTls(certificates.Certificate, options => RequirePeersOf(certificates, options, clientsToo: true));
        }

        if (PigeonTelemetry.ExportsTraces(configuration))
        {
            // A trace follows a request from HTTP through its grain calls to PostgreSQL.
            silo.AddActivityPropagation();
        }

        return silo;
    }

    /// <summary>
    /// Makes this Orleans client a member of the cluster of <c>Pigeon:Cluster</c>, finding silos
    /// through the membership table (when <paramref name="connectionString"/> is given; otherwise the
    /// caller chooses another clustering), with mutual TLS when <c>Pigeon:ClusterTls</c> names a certificate.
    /// </summary>
    public static IClientBuilder UsePigeonCluster(
        this IClientBuilder client, IConfiguration configuration, string? connectionString, int membershipPoolSize, string applicationName)
    {
        ArgumentNullException.ThrowIfNull(client);
        client.Configure<ClusterOptions>(options => ClusterIds(configuration, options));
        if (connectionString is not null)
        {
            client.UseAdoNetClustering(options =>
            {
                options.Invariant = "Npgsql";
                options.ConnectionString = MembershipConnectionString(connectionString, membershipPoolSize, applicationName);
            });
        }

        if (ClusterCertificatesOf(configuration) is { } certificates)
        {
            // The silos require a client certificate of the cluster's authority, and the client
            // accepts only silos that present one.
            client.UseTls(certificates.Certificate, options => RequirePeersOf(certificates, options, clientsToo: false));
        }

        if (PigeonTelemetry.ExportsTraces(configuration))
        {
            client.AddActivityPropagation();
        }

        return client;
    }

    // Loaded once for the process's life; rotating the files takes a restart (a rolling update).
    private static ClusterCertificates? ClusterCertificatesOf(IConfiguration configuration) =>
        ClusterTlsOptions.From(configuration) is { Enabled: true } tls ? ClusterCertificates.Load(tls) : null;

    private static void RequirePeersOf(ClusterCertificates certificates, TlsOptions options, bool clientsToo)
    {
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        if (clientsToo)
        {
            options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        }

        options.RemoteCertificateValidation = (peer, _, _) => certificates.IsIssuedByTheCluster(peer);
    }

    private static void ClusterIds(IConfiguration configuration, ClusterOptions options)
    {
        var cluster = PigeonClusterOptions.From(configuration);
        options.ServiceId = cluster.ServiceId;
        options.ClusterId = cluster.ClusterId;
    }

    // Orleans opens its own pool from this connection string; bounding it keeps processes × pools
    // below PostgreSQL's max_connections instead of failing requests with "too many clients".
    private static string MembershipConnectionString(string connectionString, int poolSize, string applicationName) =>
        new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = poolSize, ApplicationName = applicationName }.ConnectionString;
}
