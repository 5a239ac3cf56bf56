using System.CommandLine;
using Pigeon.Api;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Delivery;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon sync [--watch] [--wait SECONDS]</c>: finishes uploads an earlier run began, sends what is
/// queued, long-polls the mailbox once (or until Ctrl-C with <c>--watch</c>), decrypts and stores each
/// message, acknowledges it only once stored (on the next poll, and what remains before the command
/// ends), downloads the files that arrived up to the auto-download size (<c>pigeon settings</c>), and
/// keeps the server stocked with prekeys.
/// </summary>
public sealed class SyncCommand : PigeonCommand
{
    private readonly Option<bool> _watch = new("--watch", "-w") { Description = "Keep receiving until Ctrl-C" };

    private readonly Option<int> _wait = new("--wait")
    {
        Description = $"Seconds to wait for a message when none is there (0-{ApiLimits.MaxWaitSeconds})",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => 5,
    };

    /// <summary>Declares the command.</summary>
    public SyncCommand(CliContext context, GlobalOptions globals)
        : base("sync", "Receive, decrypt and store new messages.", context, globals)
    {
        Options.Add(_watch);
        Options.Add(_wait);
        _wait.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > ApiLimits.MaxWaitSeconds)
            {
                result.AddError($"--wait must be between 0 and {ApiLimits.MaxWaitSeconds} seconds.");
            }
        });
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var watch = parseResult.GetValue(_watch);
        var json = IsJson(parseResult);
        using var session = OpenProfile(parseResult);
        await ResumeUploadsAsync(session, ct);
        await session.Outbox.DeliverAsync(ct);
        var all = new List<ReceivedEvent>();
        var fetchedFor = new HashSet<Guid>();
        long after = 0;
        var wait = TimeSpan.FromSeconds(watch ? ApiLimits.MaxWaitSeconds : parseResult.GetValue(_wait));
        try
        {
            do
            {
                PollResult result;
                do
                {
                    result = await session.Inbox.PollAsync(after, wait, ct);
                    after = result.LastSequence;
                    foreach (var received in result.Events)
                    {
                        if (watch || !json)
                        {
                            Write(received, json);
                        }
                        all.Add(received);
                    }
                }
                while (result.HasMore);
                await FetchFilesAsync(session, all, fetchedFor, ct);
                await session.MaintainAsync(ct);
            }
            while (watch && !ct.IsCancellationRequested);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C ends --watch; everything received so far is stored, and acknowledged below.
        }
        // The last batch was stored but no poll has carried its acknowledgement.
        if (ct.IsCancellationRequested)
        {
            await session.Inbox.AcknowledgeBeforeLeavingAsync();
        }
        else
        {
            await session.Inbox.AcknowledgeAsync(ct);
        }
        if (json && !watch)
        {
            WriteJson(all.Select(ReceivedEventWriter.ToJson));
        }
        else if (!json && !watch)
        {
            Context.WriteLine(all.Count == 0 ? "No new messages." : $"{all.Count} new.");
        }
        return ExitCodes.Success;
    }

    // Small files come down as soon as their message is stored; a failure is recorded on the file
    // ('pigeon attachments' shows it) and the sync goes on.
    private async Task FetchFilesAsync(ProfileSession session, List<ReceivedEvent> received, HashSet<Guid> fetchedFor, CancellationToken ct)
    {
        var fresh = received.Where(e => e.Attachment is not null && !fetchedFor.Contains(e.MessageId)).ToList();
        if (fresh.Count == 0)
        {
            return;
        }

        fetchedFor.UnionWith(fresh.Select(e => e.MessageId));
        foreach (var item in await session.Attachments.FetchNewAsync(fresh, ct))
        {
            Context.WriteError($"Downloaded {PeerText.Inline(item.Row.Pointer.Name)} ({Sizes.Format(item.Row.Pointer.Size)}): 'pigeon save {item.ShortId}' writes it out.");
        }
    }

    private void Write(ReceivedEvent received, bool json)
    {
        if (json)
        {
            WriteJson(ReceivedEventWriter.ToJson(received));
        }
        else if (received.Kind == ReceivedKind.Failed)
        {
            Context.WriteError("pigeon: " + ReceivedEventWriter.Describe(received, t => Time(t)));
        }
        else
        {
            Context.WriteLine(ReceivedEventWriter.Describe(received, t => Time(t)));
        }
    }
}
