namespace Pigeon.Silo.Database;

/// <summary>
/// What one run of <see cref="SchemaMigrator.MigrateAsync"/> did.
/// </summary>
/// <param name="Applied">Versions applied by this run, in order.</param>
/// <param name="AlreadyApplied">Versions found already applied (checksums verified) and skipped.</param>
public sealed record MigrationResult(IReadOnlyList<int> Applied, IReadOnlyList<int> AlreadyApplied);
