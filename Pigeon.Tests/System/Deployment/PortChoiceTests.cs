using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// <c>scripts/ports.sh</c>, which <c>dev.sh</c> and <c>postgres.sh</c> pick their ports with: never
/// from the kernel's ephemeral range, and free only when the port can really be bound.
/// </summary>
public sealed class PortChoiceTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>The first port of Linux's ephemeral range on this machine.</summary>
    internal static int EphemeralStart() =>
        int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);

    [Fact]
    public async Task Pick_ChoosesFreePortsBelowTheEphemeralRange()
    {
        var start = EphemeralStart();
        var range = await PortsAsync("range");
        Assert.Equal($"10000 {start - 1}", range.Output.Trim());

        for (var i = 0; i < 20; i++)
        {
            var picked = await PortsAsync("pick");
            Assert.True(picked.ExitCode == 0, picked.ToString());
            var port = int.Parse(picked.Output.Trim(), CultureInfo.InvariantCulture);
            Assert.InRange(port, 10000, start - 1);
        }
    }

    [Fact]
    public async Task Free_IsFalseForAPortBoundButNotListening_AndTrueOnceReleased()
    {
        // Bound but not listening: a connect test sees "refused" and would call it free.
        var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)bound.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);
        using var listening = new TcpListener(IPAddress.Loopback, 0);
        listening.Start();
        var listeningPort = ((IPEndPoint)listening.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        Assert.Equal(1, (await PortsAsync("free", port)).ExitCode);
        Assert.Equal(1, (await PortsAsync("free", listeningPort)).ExitCode);
        bound.Dispose();
        Assert.Equal(0, (await PortsAsync("free", port)).ExitCode);
    }

    private static Task<ScriptResult> PortsAsync(params string[] arguments) =>
        Scripts.RunAsync("ports.sh", arguments, TimeSpan.FromSeconds(30), Cancellation);
}
