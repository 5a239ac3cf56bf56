using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Attachments;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon settings [--read-receipts on|off] [--typing on|off] [--auto-download SIZE]</c>: shows the
/// profile's settings, or changes the ones given. With read receipts or typing indicators off, none are
/// sent (delivery receipts always are). Received files up to the auto-download size are downloaded
/// (still encrypted, into the profile) as <c>sync</c> receives them; 0 turns that off.
/// </summary>
public sealed class SettingsCommand : PigeonCommand
{
    private readonly Option<string?> _readReceipts = OnOff("--read-receipts", "Tell contacts when you have read their messages");

    private readonly Option<string?> _typing = OnOff("--typing", "Tell contacts while you type to them");

    private readonly Option<string?> _autoDownload = new("--auto-download")
    {
        Description = "Download received files up to this size as they arrive (like 10MiB; 0 for never)",
        HelpName = "SIZE",
    };

    /// <summary>Declares the command.</summary>
    public SettingsCommand(CliContext context, GlobalOptions globals)
        : base("settings", "Show or change what this profile tells its contacts (read receipts, typing) and which files it downloads on its own.", context, globals)
    {
        Options.Add(_readReceipts);
        Options.Add(_typing);
        Options.Add(_autoDownload);
        _autoDownload.Validators.Add(result =>
        {
            if (!Sizes.TryParse(result.GetValueOrDefault<string?>(), out _))
            {
                result.AddError("--auto-download takes a size such as 0, 512KiB, 10MiB or 1GiB.");
            }
        });
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
        if (parseResult.GetValue(_autoDownload) is { } autoDownload && Sizes.TryParse(autoDownload, out var bytes))
        {
            settings = settings with { AutoDownloadBytes = bytes };
        }
        await session.SaveSettingsAsync(settings);
        if (IsJson(parseResult))
        {
            WriteJson(new { readReceipts = settings.ReadReceipts, typing = settings.TypingIndicators, autoDownloadBytes = settings.AutoDownloadBytes });
        }
        else
        {
            Context.WriteLine($"Read receipts:  {(settings.ReadReceipts ? "on" : "off")}");
            Context.WriteLine($"Typing:         {(settings.TypingIndicators ? "on" : "off")}");
            Context.WriteLine($"Auto-download:  {(settings.AutoDownloadBytes == 0 ? "off" : "files up to " + Sizes.Format(settings.AutoDownloadBytes))}");
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
