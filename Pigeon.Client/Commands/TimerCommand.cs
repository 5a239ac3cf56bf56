using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Delivery;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon timer &lt;contact&gt; 1h|1d|1w|off</c>: sets the conversation's disappearing-message
/// timer, on both sides: the setting travels inside the encrypted channel, and each later message is
/// deleted from both profiles (and asks the server to keep it no longer) when its time is up.
/// </summary>
public sealed class TimerCommand : PigeonCommand
{
    private readonly Argument<string> _contact = new("contact") { Description = "The contact's name or account id" };

    private readonly Argument<string> _timer = new("timer") { Description = "How long messages are kept: 1h, 1d, 1w, or off" };

    /// <summary>Declares the command.</summary>
    public TimerCommand(CliContext context, GlobalOptions globals)
        : base("timer", "Set how long the messages with a contact are kept, on both sides (1h, 1d, 1w, off).", context, globals)
    {
        Arguments.Add(_contact);
        Arguments.Add(_timer);
        _timer.Validators.Add(result =>
        {
            if (!DisappearingTimer.Choices.ContainsKey(result.GetValueOrDefault<string>() ?? ""))
            {
                result.AddError("The timer is one of 1h, 1d, 1w or off.");
            }
        });
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var timer = DisappearingTimer.Choices[parseResult.GetRequiredValue(_timer)];
        using var session = OpenProfile(parseResult);
        var contact = await session.Contacts.SetTimerAsync(parseResult.GetRequiredValue(_contact), timer, ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { accountId = contact.AccountId, name = contact.DisplayName, timer = DisappearingTimer.Format(timer) });
        }
        else
        {
            Context.WriteLine(timer is null
                ? $"Messages with {PeerText.Inline(contact.Label)} no longer disappear."
                : $"Messages with {PeerText.Inline(contact.Label)} now disappear {DisappearingTimer.Format(timer)} after they are sent or received, on both sides.");
        }

        return ExitCodes.Success;
    }
}
