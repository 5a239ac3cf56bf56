using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace Pigeon.Hosting.Cluster;

/// <summary>
/// Mutual TLS between silos and gateways, bound from <c>Pigeon:ClusterTls</c> on both. Off unless a
/// certificate is given. Every peer presents a certificate issued by the cluster's own authority
/// and accepts only peers that do: Orleans' protocol has no authentication of its own, so without
/// this anything that reaches a silo's ports could call any grain.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:ClusterTls";

    /// <summary>This process's certificate, PEM (Kubernetes: <c>tls.crt</c>). Usable for both server and client authentication.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Its private key, PEM (<c>tls.key</c>).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The authority that issues the cluster's certificates, PEM (<c>ca.crt</c>); peers must chain to it.</summary>
    public string? AuthorityPath { get; set; }

    /// <summary>The settings in <see cref="Section"/> of <paramref name="configuration"/>; off when the section is absent.</summary>
    public static ClusterTlsOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();

    /// <summary>Whether TLS is configured at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    /// <summary>Problems with these settings, each naming its key; none when usable or off.</summary>
    public IReadOnlyList<string> Validate()
    {
        if (!Enabled && string.IsNullOrWhiteSpace(KeyPath) && string.IsNullOrWhiteSpace(AuthorityPath))
        {
            return [];
        }

        var problems = new List<string>();
        foreach (var (key, path) in new[] { (nameof(CertificatePath), CertificatePath), (nameof(KeyPath), KeyPath), (nameof(AuthorityPath), AuthorityPath) })
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                problems.Add($"{Section}:{key} must be set too: TLS needs a certificate, its key and the authority peers chain to.");
            }
            else if (!File.Exists(path))
            {
                problems.Add($"{Section}:{key} names {path}, which does not exist.");
            }
        }

        if (problems.Count == 0)
        {
            try
            {
                using var certificates = ClusterCertificates.Load(this);
            }
            catch (Exception exception) when (exception is CryptographicException or ArgumentException or InvalidOperationException)
            {
                problems.Add($"{Section} cannot be loaded: {exception.Message}");
            }
        }

        return problems;
    }
}

/// <summary>The loaded certificate and authority of <see cref="ClusterTlsOptions"/>.</summary>
public sealed class ClusterCertificates : IDisposable
{
    private ClusterCertificates(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        Certificate = certificate;
        Authorities = authorities;
    }

    /// <summary>This process's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The authorities a peer's certificate must chain to.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>Reads the PEM files; throws when they are unreadable, the key does not match, or no authority is found.</summary>
    public static ClusterCertificates Load(ClusterTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var certificate = X509Certificate2.CreateFromPemFile(options.CertificatePath!, options.KeyPath);
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(options.AuthorityPath!);
        if (authorities.Count == 0)
        {
            certificate.Dispose();
            throw new InvalidOperationException($"{options.AuthorityPath} holds no certificate.");
        }

        return new ClusterCertificates(certificate, authorities);
    }

    /// <summary>
    /// Whether a peer's certificate chains to the cluster's authority. Host names are not checked:
    /// peers are addressed by pod IP, and holding a certificate of this authority is the identity.
    /// </summary>
    public bool IsIssuedByTheCluster(X509Certificate2 peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(peer);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var authority in Authorities)
        {
            authority.Dispose();
        }
    }
}
