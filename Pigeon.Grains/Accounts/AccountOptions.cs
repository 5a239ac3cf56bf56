using Microsoft.Extensions.Options;
using Pigeon.Hosting.Configuration;

namespace Pigeon.Grains.Accounts;

/// <summary>Limits of accounts, bound from configuration section <c>Pigeon:Accounts</c>.</summary>
public sealed class AccountOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Pigeon:Accounts";

    /// <summary>The most one-time prekeys of each kind an account may hold on the server. Default 500.</summary>
    public int MaxOneTimePrekeysPerKind { get; set; } = 500;

    /// <summary>
    /// The most bundles with one-time prekeys an account hands out per hour. Beyond it, bundles carry
    /// the signed and last-resort prekeys only (as with an empty pool), so strangers fetching bundles
    /// from many accounts cannot drain the pool. Default 60.
    /// </summary>
    public int MaxOneTimePrekeyHandoutsPerHour { get; set; } = 60;

    /// <summary>
    /// The most distinct recipients an account may deposit to on the identified route within an hour.
    /// Contacts use the sealed route, so this bounds how many strangers one account can reach. Default 50.
    /// </summary>
    public int MaxNewRecipientsPerHour { get; set; } = 50;

    /// <summary>The most devices an account's signed device list may name. Default 6.</summary>
    public int MaxDevices { get; set; } = Protocol.Devices.DeviceList.DefaultMaxDevices;

    /// <summary>
    /// How long after a device's removal its mailbox is purged once more: a deposit that passed the
    /// device check just before the removal may still land after the first purge. Well above a
    /// deposit's time in flight. Default 2 minutes.
    /// </summary>
    public TimeSpan RemovedDeviceSweepDelay { get; set; } = TimeSpan.FromMinutes(2);
}

internal sealed class AccountOptionsValidator : IValidateOptions<AccountOptions>
{
    public ValidateOptionsResult Validate(string? name, AccountOptions options)
    {
        var problems = new OptionsProblems(AccountOptions.Section);
        problems.Require(options.MaxOneTimePrekeysPerKind > 0, nameof(options.MaxOneTimePrekeysPerKind), "must be at least 1.");
        problems.Require(options.MaxNewRecipientsPerHour > 0, nameof(options.MaxNewRecipientsPerHour), "must be at least 1.");
        problems.Require(options.MaxDevices > 0, nameof(options.MaxDevices), "must be at least 1.");
        problems.Require(options.RemovedDeviceSweepDelay > TimeSpan.Zero, nameof(options.RemovedDeviceSweepDelay), "must be positive.");
        problems.Require(options.MaxOneTimePrekeyHandoutsPerHour >= 0, nameof(options.MaxOneTimePrekeyHandoutsPerHour), "must be 0 or more.");
        return problems.Result();
    }
}
