using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pigeon.Hosting.Configuration;

/// <summary>
/// How a Pigeon process starts: it reads every setting first and, when any is bad, names them all
/// and exits with <see cref="ConfigurationExitCode"/> instead of failing on the first at run time.
/// </summary>
public static class PigeonStartup
{
    /// <summary>The exit code of a process that did not start because of its configuration.</summary>
    public const int ConfigurationExitCode = 2;

    /// <summary>
    /// Runs <paramref name="run"/> when <paramref name="problems"/> is empty; otherwise writes
    /// "<paramref name="application"/> cannot start" and every problem to standard error and
    /// returns <see cref="ConfigurationExitCode"/>.
    /// </summary>
    public static async Task<int> RunAsync(string application, IReadOnlyCollection<string> problems, Func<Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(run);
        if (problems.Count == 0)
        {
            return await run();
        }

        await Console.Error.WriteLineAsync($"{application} cannot start, the configuration has problems:");
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync($"  - {problem}");
        }

        return ConfigurationExitCode;
    }

    /// <summary>
    /// Binds section <paramref name="section"/> as <typeparamref name="TOptions"/> (defaults where it
    /// is absent) and returns what <paramref name="validator"/> finds wrong with it. A value that does
    /// not even convert (a word where a number belongs) is reported as a problem too.
    /// </summary>
    public static IEnumerable<string> Check<TOptions>(this IConfiguration configuration, string section, IValidateOptions<TOptions> validator)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(validator);
        TOptions options;
        try
        {
            options = configuration.GetSection(section).Get<TOptions>() ?? new TOptions();
        }
        catch (InvalidOperationException exception)
        {
            return [NotConvertible(section, exception.Message)];
        }

        var result = validator.Validate(null, options);
        return result.Failed ? result.Failures ?? [] : [];
    }

    // The binder's message quotes the value, which may be a secret; only its key and type are repeated.
    private static string NotConvertible(string section, string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "at '(?<key>[^']+)' to type '(?<type>[^']+)'");
        return match.Success
            ? $"{match.Groups["key"].Value} is not a valid {match.Groups["type"].Value.Split('.')[^1]}."
            : $"{section} has a value that is not of its setting's type.";
    }
}
