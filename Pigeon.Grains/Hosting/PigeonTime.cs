namespace Pigeon.Grains.Hosting;

/// <summary>
/// The clock Pigeon's grains read, registered as a keyed <see cref="TimeProvider"/> so tests can
/// replace it with a fake one without also freezing the Orleans runtime's own timers.
/// </summary>
public static class PigeonTime
{
    /// <summary>The service key of Pigeon's <see cref="TimeProvider"/>.</summary>
    public const string ServiceKey = "pigeon";
}
