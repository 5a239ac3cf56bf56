using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Profiles;
using Pigeon.Protocol;

namespace Pigeon.Client.Cli;

/// <summary>
/// The base of every <c>pigeon</c> command: runs <see cref="ExecuteAsync"/>, turns a failure into its
/// message on stderr and its exit code (<see cref="AsCliException"/>, the one place that maps the client
/// core's exceptions to exit codes), and offers the output helpers.
/// </summary>
public abstract class PigeonCommand : Command
{
    private static readonly JsonSerializerOptions OutputJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Declares the command; its action is <see cref="ExecuteAsync"/>.</summary>
    protected PigeonCommand(string name, string description, CliContext context, GlobalOptions globals)
        : base(name, description)
    {
        Context = context;
        Globals = globals;
        SetAction(RunAsync);
    }

    /// <summary>The terminal, environment and network of this run.</summary>
    protected CliContext Context { get; }

    /// <summary>The global options.</summary>
    protected GlobalOptions Globals { get; }

    /// <summary>Does the work and returns an exit code; throws for a failure the user can act on (see <see cref="AsCliException"/>).</summary>
    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct);

    /// <summary>True when <c>--json</c> was given.</summary>
    protected bool IsJson(ParseResult parseResult) => parseResult.GetValue(Globals.Json);

    /// <summary>
    /// Opens and unlocks the selected profile; the passphrase comes from <c>--passphrase-file</c>, else
    /// <c>PIGEON_PASSPHRASE</c>, else a prompt on a terminal (<see cref="Passphrases"/>).
    /// </summary>
    internal ProfileSession OpenProfile(ParseResult parseResult) =>
        ProfileSession.Open(Context.Messaging, Context.ProfileDirectory(parseResult.GetValue(Globals.Profile)),
            new Passphrases(Context).Current(parseResult.GetValue(Globals.PassphraseFile)));

    /// <summary>
    /// Finishes the uploads an earlier run began and did not send (it was killed, or the server went
    /// away), with their progress on stderr: <c>send --file</c> and <c>sync</c> do this first.
    /// </summary>
    internal async Task ResumeUploadsAsync(ProfileSession session, CancellationToken ct)
    {
        foreach (var upload in await session.Attachments.PendingUploadsAsync())
        {
            var name = PeerText.Inline(upload.Pointer.Name);
            if (await TransferProgressView.RunAsync(Context, $"Resuming {name}", progress => session.Attachments.ResumeUploadAsync(upload, progress, ct)) is null)
            {
                Context.WriteError($"pigeon: the upload of {name} was dropped: its conversation is gone.");
            }
        }
    }

    /// <summary>Writes one JSON document (one line).</summary>
    protected void WriteJson(object value) => Context.WriteLine(JsonSerializer.Serialize(value, OutputJson));

    /// <summary>A time for people: local, to the minute (to the second when <paramref name="seconds"/>).</summary>
    protected string Time(DateTimeOffset? at, bool seconds = false) => at is { } value
        ? TimeZoneInfo.ConvertTime(value, Context.Time.LocalTimeZone).ToString(seconds ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : "-";

    /// <summary>Pads cells into aligned columns.</summary>
    protected void WriteTable(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = Enumerable.Range(0, header.Count).Select(i => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            Context.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Count - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }

    private int Fail(ParseResult parseResult, CliException exception)
    {
        if (IsJson(parseResult))
        {
            Context.WriteError(JsonSerializer.Serialize(new { error = exception.Message, exitCode = exception.ExitCode }, OutputJson));
        }
        else
        {
            Context.WriteError($"pigeon: {exception.Message}");
        }
        return exception.ExitCode;
    }

    /// <summary>
    /// What a failure means to the user: its message and exit code. Null for anything that is not a
    /// failure a person can act on (a bug, which is left to crash with its stack trace).
    /// </summary>
    internal static CliException? AsCliException(Exception exception) => exception switch
    {
        CliException cli => cli,
        ProfileNotFoundException e => new(ExitCodes.NotFound, $"{e.Message}: run 'pigeon init --server URL' first.", e),
        ProfileExistsException e => new(ExitCodes.UsageError, $"{e.Message}; use another --profile or PIGEON_HOME.", e),
        ProfileFormatException e => new(ExitCodes.UsageError, e.Message, e),
        ProfileLockedException { Reason: LockedReason.PassphraseMissing } e => new(ExitCodes.CryptoFailure,
            "This profile is encrypted: set PIGEON_PASSPHRASE, give --passphrase-file, or run pigeon in a terminal to be asked for the passphrase.", e),
        ProfileLockedException or ProfileDamagedException or UntrustedKeysException => new(ExitCodes.CryptoFailure, exception.Message, exception),
        ContactNotFoundException { PendingRequest: { } request } e => new(ExitCodes.NotFound,
            $"{request.DisplayName} ({request.AccountId}) has asked to be your contact: run 'pigeon accept {request.AccountId}' first.", e),
        ContactNotFoundException { GroupsToo: true } e => new(ExitCodes.NotFound, $"{e.Message} 'pigeon contacts' and 'pigeon groups' list them.", e),
        ContactNotFoundException e => new(ExitCodes.NotFound, $"{e.Message} 'pigeon contacts' lists them; 'pigeon invite <id>' adds one.", e),
        NotBlockedException e => new(ExitCodes.NotFound, $"{e.Message} 'pigeon blocked' lists who is.", e),
                RequestNotFoundException e => new(ExitCodes.NotFound, $"{e.Message} 'pigeon requests' lists them (run 'pigeon sync' to fetch new ones).", e),
        NoSessionException e => new(ExitCodes.NotFound, $"There is no session with {e.AccountId}: invite them again.", e),
        AmbiguousNameException { List: NameList.Contacts } e => new(ExitCodes.UsageError,
            $"Several contacts are called '{e.Name}': name one by its id ({string.Join(", ", e.AccountIds)}).", e),
        AmbiguousNameException { List: NameList.Groups or NameList.Conversations } e => new(ExitCodes.UsageError,
            $"'{e.Name}' names several conversations: name one by its id ({string.Join(", ", e.AccountIds)}).", e),
        AmbiguousNameException e => new(ExitCodes.UsageError, $"Several requests come from someone called '{e.Name}': name one by its id.", e),
        GroupNotFoundException e => new(ExitCodes.NotFound, $"{e.Message} 'pigeon groups' lists them.", e),
        AttachmentNotFoundException e => new(e.Matches == 0 ? ExitCodes.NotFound : ExitCodes.UsageError, $"{e.Message} 'pigeon attachments' lists them.", e),
        AttachmentRefusedException e => new(ExitCodes.UsageError, e.Message, e),
        GroupChangeException e => new(ExitCodes.UsageError, e.Message, e),
        DeviceNotFoundException e => new(e.IsThisDevice ? ExitCodes.UsageError : ExitCodes.NotFound, e.Message, e),
        LinkRefusedException e => new(ExitCodes.UsageError, e.Message, e),
        DeviceListRefusedException e => new(ExitCodes.CryptoFailure, e.Message, e),
        InviteRefusedException { Refusal: InviteRefusal.NotAnAccountId } e => new(ExitCodes.UsageError,
            $"'{e.AccountId}' is not an account id: an id is 32 characters of a–z and 2–7 (ask your contact for the output of 'pigeon whoami').", e),
        InviteRefusedException { Refusal: InviteRefusal.AlreadyAskedYou } e => new(ExitCodes.UsageError,
            $"{e.AccountId} has already asked to be your contact: run 'pigeon accept {e.AccountId}'.", e),
        InviteRefusedException e => new(ExitCodes.UsageError, e.Message, e),
        AcknowledgementPendingException e => new(ExitCodes.ServerUnreachable,
            $"{e.Message} They are stored here; the server will deliver them again, and they will be recognised and not shown twice.", e),
        ServerUnreachableException e => new(ExitCodes.ServerUnreachable, Unreachable(e), e),
        DepositRefusedException e => new(ExitCodes.ServerRefused, $"The server refused the message for {e.Recipient}: {e.Problem.Message}", e),
        ServerRefusedException e => new(ExitCodes.ServerRefused, Refused(e), e),
        SqliteException or IOException or UnauthorizedAccessException => new(ExitCodes.StoreFailure,
            $"The profile could not be read or written: {exception.Message}", exception),
        ProtocolException e => new(ExitCodes.CryptoFailure, $"A cryptographic check failed ({e.Reason}): {e.Message}", e),
        _ => null,
    };

    private static string Unreachable(ServerUnreachableException exception)
    {
        var message = exception.InnerException switch
        {
            PigeonApiException unavailable =>
                $"The server at {exception.Server} is unavailable ({(int)unavailable.Status}{(unavailable.Title is { } title ? ": " + title : "")}). Try again later.",
            TimeoutException => $"Cannot reach the server at {exception.Server}: the request timed out. Check the address and your connection, then try again.",
            HttpRequestException { InnerException: { } inner } => $"Cannot reach the server at {exception.Server}: {inner.Message}. Check the address and your connection, then try again.",
            var other => $"Cannot reach the server at {exception.Server}: {other?.Message}. Check the address and your connection, then try again.",
        };
        return exception.MessageSaved ? message + " The message is saved and will be sent by the next 'pigeon send' or 'pigeon sync'." : message;
    }

    private static string Refused(ServerRefusedException exception) => exception.Problem.Type switch
    {
        ProblemTypes.AccountNotFound when exception.AccountId is { } accountId => $"No account has the id {accountId} on this server. Check the id with your contact.",
        ProblemTypes.AccountNotFound => "The server does not know this profile's account (was the server reset?).",
        ProblemTypes.PrekeysUnavailable => $"{exception.AccountId} has no keys published on the server yet; they should run 'pigeon sync'.",
        ProblemTypes.DeviceRemoved => "This device was removed from its account: it can no longer sign in. Link it again with 'pigeon devices link' (in a new profile).",
        ProblemTypes.ChallengeFailed => "The server refused to sign this profile in: its identity is not the one registered.",
        ProblemTypes.AttachmentTooLarge => $"The server takes no file this large: {exception.Problem.Detail}",
        ProblemTypes.AttachmentQuotaExceeded => "You have uploaded as many file bytes today as the server allows"
            + (exception.Problem.RetryAfter is { } wait ? $"; try again in {Math.Max(1, Math.Ceiling(wait.TotalMinutes)):0} min." : "; try again later."),
        _ => exception.Message,
    };

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken ct)
    {
        try
        {
            return await ExecuteAsync(parseResult, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Context.WriteError("pigeon: interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception exception) when (AsCliException(exception) is { } failure)
        {
            return Fail(parseResult, failure);
        }
    }
}
