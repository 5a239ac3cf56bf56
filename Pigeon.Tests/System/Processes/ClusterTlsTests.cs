using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>Mutual TLS between a silo and gateways started as processes, with certificates made here.</summary>
public sealed class ClusterTlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pigeon-tls-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Silo_WithClusterTls_ServesGatewaysOfItsAuthority_AndNoOtherClient()
    {
        var cluster = IssueCluster("cluster");
        var stranger = IssueCluster("stranger");
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var processes = new ProcessCluster(database.ConnectionString);
        var silo = await processes.StartSiloAsync(Ct, cluster);
        // A second silo becomes Active only once it has reached the first over TLS.
        var second = await processes.StartSiloAsync(Ct, cluster);
        Assert.Contains((second.SiloPort, 3), await processes.MembershipAsync(Ct));

        var member = await processes.StartGatewayAsync(Ct, cluster);
        using (var http = member.CreateClient())
        {
            var alice = await ApiClient.RegisterAndLoginAsync(http);
            Assert.Equal(3, (await ApiClient.UploadPrekeysAsync(http, alice, 3)).OneTimePrekeys);
        }

        // Neither a gateway without TLS nor one whose certificate another authority issued ever reaches the silo.
        var plain = processes.StartGatewayProcess();
        var foreign = processes.StartGatewayProcess(stranger);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(12);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var refused in new[] { plain, foreign })
            {
                Assert.NotEqual(HttpStatusCode.OK, await ReadinessAsync(probe, refused));
            }

            await Task.Delay(500, Ct);
        }

        Assert.Contains("Authentication failed", silo.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", silo.Process.Output + member.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloAndGateway_WithTheCertificatesTheChartGenerates_CarryAConversation()
    {
        var secret = (await Deployment.RenderedChart.RenderAsync(Ct)).Single("Secret", "-cluster-tls");
        var tls = Deployment.ChartCertificates.Settings(Deployment.ChartCertificates.Write(secret, Path.Combine(_directory, "chart")));
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var processes = new ProcessCluster(database.ConnectionString);
        await processes.StartSiloAsync(Ct, tls);
        var gateway = await processes.StartGatewayAsync(Ct, tls);

        using var http = gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        Assert.Equal(2, (await ApiClient.UploadPrekeysAsync(http, alice, 2)).OneTimePrekeys);
    }

    [Fact]
    public async Task Gateway_WithAnIncompleteOrUnreadableTlsSetting_ExitsNamingIt()
    {
        var cluster = IssueCluster("cluster");
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Gateway"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "Host=127.0.0.1;Username=nobody",
            ["Pigeon__Auth__TokenSigningKey"] = Convert.ToBase64String(new byte[32]),
            ["Pigeon__ClusterTls__CertificatePath"] = cluster["Pigeon__ClusterTls__CertificatePath"],
            ["Pigeon__ClusterTls__KeyPath"] = cluster["Pigeon__ClusterTls__AuthorityPath"],
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("Pigeon:ClusterTls:AuthorityPath must be set too", output, StringComparison.Ordinal);

        var (siloExit, siloOutput) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Silo"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "Host=127.0.0.1;Username=nobody",
            ["Pigeon__ClusterTls__CertificatePath"] = cluster["Pigeon__ClusterTls__CertificatePath"],
            // A certificate where the key should be.
            ["Pigeon__ClusterTls__KeyPath"] = cluster["Pigeon__ClusterTls__AuthorityPath"],
            ["Pigeon__ClusterTls__AuthorityPath"] = cluster["Pigeon__ClusterTls__AuthorityPath"],
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, siloExit);
        Assert.Contains("Pigeon:ClusterTls cannot be loaded", siloOutput, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<HttpStatusCode?> ReadinessAsync(HttpClient probe, GatewayHandle gateway)
    {
        try
        {
            using var response = await probe.GetAsync(new Uri(gateway.BaseAddress, "/health/ready"), Ct);
            return response.StatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>An authority and one peer certificate it issued (server and client use), as the settings that load them.</summary>
    private Dictionary<string, string> IssueCluster(string name)
    {
        var now = DateTimeOffset.UtcNow;
        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest($"CN=Pigeon {name} authority", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var authority = authorityRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        using var peerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var peerRequest = new CertificateRequest($"CN=pigeon-{name}-peer", peerKey, HashAlgorithmName.SHA256);
        peerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        peerRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        peerRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var peer = peerRequest.Create(authority, now.AddHours(-1), now.AddHours(12), RandomNumberGenerator.GetBytes(16));

        var folder = Directory.CreateDirectory(Path.Combine(_directory, name)).FullName;
        var (certificatePath, keyPath, authorityPath) = (Path.Combine(folder, "tls.crt"), Path.Combine(folder, "tls.key"), Path.Combine(folder, "ca.crt"));
        File.WriteAllText(certificatePath, peer.ExportCertificatePem());
        File.WriteAllText(keyPath, peerKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(authorityPath, authority.ExportCertificatePem());
        return new Dictionary<string, string>
        {
            ["Pigeon__ClusterTls__CertificatePath"] = certificatePath,
            ["Pigeon__ClusterTls__KeyPath"] = keyPath,
            ["Pigeon__ClusterTls__AuthorityPath"] = authorityPath,
        };
    }
}
