using Pigeon.Hosting.Cluster;

namespace Pigeon.Tests.Deployment;

/// <summary>The cluster TLS Secret the chart generates, written out as the files the pods mount.</summary>
public static class ChartCertificates
{
    /// <summary>Writes <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> of <paramref name="secret"/> into <paramref name="directory"/>; returns the settings that load them.</summary>
    public static ClusterTlsOptions Write(Manifest secret, string directory)
    {
        ArgumentNullException.ThrowIfNull(secret);
        Directory.CreateDirectory(directory);
        foreach (var file in new[] { "tls.crt", "tls.key", "ca.crt" })
        {
            File.WriteAllBytes(Path.Combine(directory, file), secret.SecretData(file));
        }

        return new ClusterTlsOptions
        {
            CertificatePath = Path.Combine(directory, "tls.crt"),
            KeyPath = Path.Combine(directory, "tls.key"),
            AuthorityPath = Path.Combine(directory, "ca.crt"),
        };
    }

    /// <summary>The same files as the environment of a silo or gateway process.</summary>
    public static Dictionary<string, string> Settings(ClusterTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new Dictionary<string, string>
        {
            ["Pigeon__ClusterTls__CertificatePath"] = options.CertificatePath!,
            ["Pigeon__ClusterTls__KeyPath"] = options.KeyPath!,
            ["Pigeon__ClusterTls__AuthorityPath"] = options.AuthorityPath!,
        };
    }
}
