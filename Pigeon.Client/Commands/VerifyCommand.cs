using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Protocol.Fingerprints;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon verify &lt;contact&gt; [--confirm]</c>: shows the 60-digit safety number, which both of you
/// see the same; compare it in person or on a call, then confirm to mark the contact verified.
/// </summary>
public sealed class VerifyCommand : PigeonCommand
{
    private readonly Argument<string> _contact = new("contact") { Description = "The contact's name or account id" };

    private readonly Option<bool> _confirm = new("--confirm") { Description = "Mark the contact verified (after comparing the numbers)" };

    /// <summary>Declares the command.</summary>
    public VerifyCommand(CliContext context, GlobalOptions globals)
        : base("verify", "Show the safety number shared with a contact, or confirm it.", context, globals)
    {
        Arguments.Add(_contact);
        Options.Add(_confirm);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var (contact, number) = await session.Contacts.SafetyNumberAsync(parseResult.GetRequiredValue(_contact));
        var confirm = parseResult.GetValue(_confirm);
        if (confirm)
        {
            await session.Contacts.MarkVerifiedAsync(contact, ct);
        }
        var verified = confirm || contact.Verified;
        if (IsJson(parseResult))
        {
            WriteJson(new { accountId = contact.AccountId, name = PeerText.Json(contact.DisplayName), safetyNumber = number, verified });
            return ExitCodes.Success;
        }
        Context.WriteLine($"Safety number with {PeerText.Inline(contact.Label)}:");
        var groups = SafetyNumber.Format(number).Split(' ');
        Context.WriteLine("  " + string.Join(' ', groups.Take(6)));
        Context.WriteLine("  " + string.Join(' ', groups.Skip(6)));
        Context.WriteLine(confirm
            ? $"{PeerText.Inline(contact.Label)} is now marked verified."
            : verified
                ? "Verified."
                : $"Not verified. If {PeerText.Inline(contact.Label)} sees the same digits, run 'pigeon verify {contact.AccountId} --confirm'.");
        return ExitCodes.Success;
    }
}
