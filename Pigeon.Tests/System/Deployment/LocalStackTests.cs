using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using Pigeon.Api;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// <c>scripts/dev.sh</c> as a developer uses it, in a folder of its own (<c>PIGEON_DEV_DIR</c>) so it
/// never meets the developer's stack: up, up again, a message round trip over HTTP, the probe paths
/// the Helm chart uses answered by the running apps, down, and nothing left running; with a gateway,
/// and with the silos serving the API themselves (<c>--co-hosted</c>).
/// </summary>
public sealed class LocalStackTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DevStack_UpRoundTripDown_LeavesNothingRunning(bool coHosted)
    {
        // dev.sh runs PostgreSQL from the machine's binaries, as the test command does: same rule.
        _ = PostgresRequirement.ConnectionString();
        var directory = Path.Combine(Path.GetTempPath(), $"pigeon-dev-{Guid.NewGuid():N}"[..22]);
        var environment = new Dictionary<string, string> { ["PIGEON_DEV_DIR"] = directory };
        var stopped = false;
        try
        {
            // The test command has built the apps already; building again under running tests could replace their files.
            string[] upArguments = coHosted ? ["up", "--no-build", "--co-hosted"] : ["up", "--no-build"];
            var up = await DevAsync(environment, upArguments);
            Assert.True(up.ExitCode == 0, $"dev.sh up failed: {up}");
            var status = await DevAsync(environment, "status");
            Assert.True(status.ExitCode == 0, $"dev.sh status says not everything runs: {status}");
            var apiLine = status.Output.Split('\n').Single(l => l.StartsWith("API URL: ", StringComparison.Ordinal))["API URL: ".Length..].Trim();
            Assert.EndsWith(coHosted ? "(co-hosted)" : "(gateway)", apiLine, StringComparison.Ordinal);
            var gatewayUrl = new Uri(apiLine.Split(' ')[0]);
            Assert.Contains($"pigeon init --server {gatewayUrl.ToString().TrimEnd('/')} --name", up.Output, StringComparison.Ordinal);
            Assert.Equal("600", UnixMode(Path.Combine(directory, "token-signing-key")));
            await PrintedPathLineGivesAPigeonCommandAsync(up.Output);

            var again = await DevAsync(environment, upArguments);
            Assert.True(again.ExitCode == 0, $"a second dev.sh up failed: {again}");
            Assert.Contains("already running", again.Output, StringComparison.Ordinal);
            Assert.Contains(gatewayUrl.ToString().TrimEnd('/'), again.Output, StringComparison.Ordinal);

            await RoundTripAsync(gatewayUrl);
            var ports = File.ReadAllLines(Path.Combine(directory, "ports"))
                .Select(l => l.Split('=')).ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
            await ProbesAnswerAsync("silo", new Uri($"http://127.0.0.1:{ports["silo-1.http"]}"));
            if (!coHosted)
            {
                await ProbesAnswerAsync("gateway", gatewayUrl);
            }

            Assert.Equal(coHosted, gatewayUrl.Port == ports["silo-1.http"]);

            var pids = Directory.GetFiles(directory, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(coHosted ? 2 : 3, pids.Count);
            var postgresPort = int.Parse(File.ReadAllText(Path.Combine(directory, "postgres", "connection-string")).Split(';')
                .Single(p => p.StartsWith("Port=", StringComparison.Ordinal))["Port=".Length..], CultureInfo.InvariantCulture);

            // Outside the range the kernel hands out to outgoing connections, so none can take them meanwhile.
            foreach (var port in ports.Values.Append(postgresPort))
            {
                Assert.InRange(port, 10000, PortChoiceTests.EphemeralStart() - 1);
            }

            var down = await DevAsync(environment, "down");
            stopped = true;
            Assert.True(down.ExitCode == 0, $"dev.sh down failed: {down}");
            foreach (var pid in pids)
            {
                Assert.False(Directory.Exists($"/proc/{pid}") && !IsZombie(pid), $"pid {pid} still runs after dev.sh down.");
            }

            foreach (var port in ports.Values.Append(postgresPort))
            {
                Assert.False(await IsListeningAsync(port), $"port {port} is still open after dev.sh down.");
            }

            Assert.Empty(Directory.GetFiles(directory, "*.pid"));
            var after = await DevAsync(environment, "status");
            Assert.Equal(3, after.ExitCode);
        }
        finally
        {
            if (!stopped)
            {
                await DevAsync(environment, "down");
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary folder is harmless.
            }
        }
    }

    // The README's first command leaves a working `pigeon`: the PATH line it prints finds bin/pigeon, which runs.
    private static async Task PrintedPathLineGivesAPigeonCommandAsync(string upOutput)
    {
        var line = upOutput.Split('\n').Single(l => l.TrimStart().StartsWith("export PATH=\"", StringComparison.Ordinal)).Trim();
        var folder = line["export PATH=\"".Length..line.IndexOf(':', StringComparison.Ordinal)];
        using var pigeon = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Path.Combine(folder, "pigeon"), "--help")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var help = await pigeon.StandardOutput.ReadToEndAsync(Cancellation);
        await pigeon.WaitForExitAsync(Cancellation);
        Assert.True(pigeon.ExitCode == 0, help);
        Assert.Contains("pigeon init --server URL", help, StringComparison.Ordinal);
    }

    private static Task<ScriptResult> DevAsync(Dictionary<string, string> environment, params string[] arguments) =>
        Scripts.RunAsync("dev.sh", arguments, TimeSpan.FromMinutes(4), Cancellation, environment);

    /// <summary>Register two accounts, get tokens, deposit, long-poll, ack: the smallest real conversation.</summary>
    private static async Task RoundTripAsync(Uri gateway)
    {
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        using var alice = new ApiUser();
        using var bob = new ApiUser();
        await alice.SignUpAsync(http, Cancellation);
        await bob.SignUpAsync(http, Cancellation);
        var messageId = Guid.NewGuid();
        var payload = RandomNumberGenerator.GetBytes(300);

        var polling = bob.ReceiveAsync(http, 10, Cancellation);
        using (var deposit = await alice.DepositAsync(http, bob.AccountId, messageId, payload, Cancellation))
        {
            await ApiUser.EnsureSuccessAsync(deposit, Cancellation);
        }

        using (var received = await polling)
        {
            await ApiUser.EnsureSuccessAsync(received, Cancellation);
            var envelope = Assert.Single((await received.Content.ReadFromJsonAsync<ReceiveResponse>(PigeonJson.Options, Cancellation))!.Envelopes);
            Assert.Equal(messageId, envelope.MessageId);
            Assert.Equal(payload, envelope.Payload);
        }

        using (var ack = await bob.AckAsync(http, [messageId], Cancellation))
        {
            await ApiUser.EnsureSuccessAsync(ack, Cancellation);
        }

        using var empty = await bob.ReceiveAsync(http, 0, Cancellation);
        await ApiUser.EnsureSuccessAsync(empty, Cancellation);
        Assert.Empty((await empty.Content.ReadFromJsonAsync<ReceiveResponse>(PigeonJson.Options, Cancellation))!.Envelopes);
    }

    /// <summary>Every probe path the Helm chart gives the component answers 200 on the running app.</summary>
    private static async Task ProbesAnswerAsync(string component, Uri app)
    {
        var chart = await RenderedChart.RenderAsync(Cancellation);
        var container = chart.Single("Deployment", $"-{component}").Container;
        using var http = new HttpClient { BaseAddress = app, Timeout = TimeSpan.FromSeconds(10) };
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            var path = Yaml.String(container, $"{probe}.httpGet.path");
            using var response = await http.GetAsync(path, Cancellation);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{component} answered {(int)response.StatusCode} on {path} ({probe}).");
        }
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, Cancellation);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z";
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string UnixMode(string path) => OperatingSystem.IsWindows()
        ? throw new PlatformNotSupportedException("dev.sh runs on Unix only.")
        : Convert.ToString((int)File.GetUnixFileMode(path) & 0x1FF, 8);
}
