namespace Pigeon.Grains.Abstractions;

/// <summary>The service cannot do this right now (a silo is stopping, the database is unreachable); try again.</summary>
[GenerateSerializer, Alias("pigeon.service-unavailable")]
public sealed class ServiceUnavailableException : Exception
{
    public ServiceUnavailableException() : base("The service is temporarily unavailable.") { }

    public ServiceUnavailableException(string message) : base(message) { }

    public ServiceUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}
