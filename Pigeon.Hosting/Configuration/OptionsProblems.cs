using Microsoft.Extensions.Options;

namespace Pigeon.Hosting.Configuration;

/// <summary>Collects every bad value of an options object so start-up reports them all at once.</summary>
/// <param name="section">The configuration section, prefixed to every problem.</param>
public sealed class OptionsProblems(string section)
{
    private readonly List<string> _problems = [];

    /// <summary>Records a problem with <paramref name="key"/> when <paramref name="condition"/> is false.</summary>
    public void Require(bool condition, string key, string message)
    {
        if (!condition)
        {
            _problems.Add($"{section}:{key} {message}");
        }
    }

    /// <summary>Success, or a failure listing every recorded problem.</summary>
    public ValidateOptionsResult Result() =>
        _problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_problems);
}
