namespace Pigeon.Silo.Database;

/// <summary>
/// The database's migration history does not match the migrations this build carries, e.g. a
/// migration that was already applied has since been edited. Nothing was applied.
/// </summary>
public sealed class SchemaMigrationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SchemaMigrationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SchemaMigrationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public SchemaMigrationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The migration file concerned, when there is one.</summary>
    public string? FileName { get; init; }
}
