using Microsoft.Extensions.Options;

namespace Pigeon.Grains.Hosting;

/// <summary>Collects every bad value of an options object so start-up reports them all at once.</summary>
internal sealed class OptionsProblems(string section)
{
    private readonly List<string> _problems = [];

    public void Require(bool condition, string key, string message)
    {
        if (!condition)
        {
            _problems.Add($"{section}:{key} {message}");
        }
    }

    public ValidateOptionsResult Result() =>
        _problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_problems);
}
