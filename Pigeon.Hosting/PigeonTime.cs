namespace Pigeon.Hosting;

/// <summary>
/// The clock Pigeon's own logic reads, in the silo (expiry, handout windows, challenges) and in the
/// gateway (tokens), registered as a keyed <see cref="TimeProvider"/> so tests can replace it with a
/// fake one without also freezing the Orleans runtime's timers.
/// </summary>
public static class PigeonTime
{
    /// <summary>The service key of Pigeon's <see cref="TimeProvider"/>.</summary>
    public const string ServiceKey = "pigeon";
}
