using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Pigeon.Silo.Database;

/// <summary>
/// One numbered schema migration: the embedded resource <c>sql/NNNN_name.sql</c>.
/// </summary>
/// <param name="Version">The number in front of the file name (<c>0002</c> is version 2).</param>
/// <param name="FileName">The file name, e.g. <c>0002_orleans_persistence.sql</c>.</param>
/// <param name="Sql">The script, with line endings normalised to LF.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of <paramref name="Sql"/> as UTF-8.</param>
public sealed partial record SchemaMigration(int Version, string FileName, string Sql, string Sha256)
{
    private const string ResourcePrefix = "sql/";

    /// <summary>
    /// Creates a migration from a file name and its text, computing the checksum.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not <c>NNNN_name.sql</c>.</exception>
    public static SchemaMigration Create(string fileName, string sql)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
        {
            throw new ArgumentException($"Migration file name '{fileName}' is not of the form NNNN_name.sql.", nameof(fileName));
        }

        // A checkout with CRLF line endings must not look like a changed migration.
        var normalized = sql.Replace("\r\n", "\n", StringComparison.Ordinal).TrimStart('\uFEFF');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
        return new SchemaMigration(int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture), fileName, normalized, hash);
    }

    /// <summary>
    /// The migrations embedded in Pigeon.Silo (the repository's <c>sql/</c> folder), ordered by version.
    /// </summary>
    /// <exception cref="InvalidOperationException">Two files share a version number.</exception>
    public static IReadOnlyList<SchemaMigration> LoadEmbedded() => Load(typeof(SchemaMigration).Assembly);

    internal static IReadOnlyList<SchemaMigration> Load(Assembly assembly)
    {
        var migrations = new List<SchemaMigration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"Embedded migration '{resource}' cannot be read.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(Create(resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        return Order(migrations);
    }

    internal static IReadOnlyList<SchemaMigration> Order(IEnumerable<SchemaMigration> migrations)
    {
        var ordered = migrations.OrderBy(m => m.Version).ToList();
        var duplicate = ordered.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Migrations {string.Join(" and ", duplicate.Select(m => m.FileName))} share version {duplicate.Key}.");
        }

        return ordered;
    }

    [GeneratedRegex(@"^(?<version>\d{4,})_[A-Za-z0-9_\-]+\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();
}
