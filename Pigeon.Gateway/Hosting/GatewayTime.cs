namespace Pigeon.Gateway.Hosting;

/// <summary>
/// The clock the gateway's own logic reads (token and challenge expiry), registered as a keyed
/// <see cref="TimeProvider"/> so tests can fake it without touching the Orleans client's timers.
/// </summary>
public static class GatewayTime
{
    /// <summary>The service key.</summary>
    public const string ServiceKey = "pigeon";
}
