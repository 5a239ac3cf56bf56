using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Gateway.Failover;

/// <summary>How the gateway carries its grain calls through the loss of a silo, bound from <c>Pigeon:Failover</c>.</summary>
public sealed class FailoverOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Failover";

    /// <summary>
    /// How long a call that was in flight when a silo's connection closed may still take to answer
    /// before it counts as lost with that silo and is sent again; a call sent within
    /// <see cref="RetryFor"/> after such a loss gets it twice (before and after its cancellation).
    /// Calls to surviving silos answer in milliseconds (a waiting receive is cancelled and answers at
    /// once). Default 2 s.
    /// </summary>
    public TimeSpan LossGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// For how long after its first attempt a deposit, receive or acknowledgement is sent again when
    /// it was lost with a silo or refused because of one: until a killed silo is declared dead, its
    /// grains cannot start elsewhere and calls to them are refused. Default 15 s, above the silos'
    /// failure detection with their shipped settings (about 5 s for a killed process, 10–15 s for an
    /// unreachable one) and below the 30 s a client waits for an answer.
    /// </summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Reports every bad value of <see cref="FailoverOptions"/> at once.</summary>
internal sealed class FailoverOptionsValidator : IValidateOptions<FailoverOptions>
{
    public ValidateOptionsResult Validate(string? name, FailoverOptions options)
    {
        var problems = new OptionsProblems(FailoverOptions.Section);
        problems.Require(options.LossGrace > TimeSpan.Zero && options.LossGrace <= TimeSpan.FromSeconds(30),
            nameof(options.LossGrace), "must be more than 0 and at most 30 seconds.");
        problems.Require(options.RetryFor >= TimeSpan.Zero && options.RetryFor <= TimeSpan.FromMinutes(1),
            nameof(options.RetryFor), "must be between 0 (no retries) and 1 minute.");
        return problems.Result();
    }
}
