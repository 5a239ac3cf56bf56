using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Gateway.Provisioning;

/// <summary>Provisioning slots for linking devices (issue 16), bound from <c>Pigeon:Provisioning</c>.</summary>
public sealed class ProvisioningOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Provisioning";

    /// <summary>How long a slot waits for its message and then for the new device to take it; at most 1 hour. Default 10 minutes.</summary>
    public TimeSpan SlotLifetime { get; set; } = TimeSpan.FromMinutes(10);
}

internal sealed class ProvisioningOptionsValidator : IValidateOptions<ProvisioningOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvisioningOptions options)
    {
        var problems = new OptionsProblems(ProvisioningOptions.Section);
        problems.Require(options.SlotLifetime > TimeSpan.Zero && options.SlotLifetime <= TimeSpan.FromHours(1),
            nameof(options.SlotLifetime), "must be between 0 and 1 hour.");
        return problems.Result();
    }
}
