using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon settings [--read-receipts on|off] [--typing on|off]</c>: shows the profile's settings, or
/// changes the ones given. With read receipts or typing indicators off, none are sent (delivery receipts
/// always are).
/// </summary>
public sealed class SettingsCommand : PigeonCommand
{
    private readonly Option<string?> _readReceipts = OnOff("--read-receipts", "Tell contacts when you have read their messages");

    private readonly Option<string?> _typing = OnOff("--typing", "Tell contacts while you type to them");

    /// <summary>Declares the command.</summary>
    public SettingsCommand(CliContext context, GlobalOptions globals)
        : base("settings", "Show or change what this profile tells its contacts (read receipts, typing).", context, globals)
    {
        Options.Add(_readReceipts);
        Options.Add(_typing);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var settings = await session.GetSettingsAsync();
        if (parseResult.GetValue(_readReceipts) is { } readReceipts)
        {
            settings = settings with { ReadReceipts = readReceipts == "on" };
        }
        if (parseResult.GetValue(_typing) is { } typing)
        {
            settings = settings with { TypingIndicators = typing == "on" };
        }
        await session.SaveSettingsAsync(settings);
        if (IsJson(parseResult))
        {
            WriteJson(new { readReceipts = settings.ReadReceipts, typing = settings.TypingIndicators });
        }
        else
        {
            Context.WriteLine($"Read receipts:  {(settings.ReadReceipts ? "on" : "off")}");
            Context.WriteLine($"Typing:         {(settings.TypingIndicators ? "on" : "off")}");
            Context.WriteLine("Delivery receipts are always sent.");
        }
        return ExitCodes.Success;
    }

    private static Option<string?> OnOff(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = "on|off" };
        option.AcceptOnlyFromAmong("on", "off");
        return option;
    }
}
