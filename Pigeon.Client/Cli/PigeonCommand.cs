using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Client.Messaging;

namespace Pigeon.Client.Cli;

/// <summary>
/// The base of every <c>pigeon</c> command: runs <see cref="ExecuteAsync"/>, turns a
/// <see cref="CliException"/> into its message on stderr and its exit code, and offers the output helpers.
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

    /// <summary>Does the work and returns an exit code; throws <see cref="CliException"/> for a failure the user can act on.</summary>
    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct);

    /// <summary>True when <c>--json</c> was given.</summary>
    protected bool IsJson(ParseResult parseResult) => parseResult.GetValue(Globals.Json);

    /// <summary>Opens the selected profile.</summary>
    internal Messenger OpenMessenger(ParseResult parseResult) => Messenger.Open(Context, parseResult.GetValue(Globals.Profile));

    /// <summary>Writes one JSON document (one line).</summary>
    protected void WriteJson(object value) => Context.WriteLine(JsonSerializer.Serialize(value, OutputJson));

    /// <summary>A time for people: local, to the minute (to the second when <paramref name="seconds"/>).</summary>
    protected string Time(DateTimeOffset? at, bool seconds = false) => at is { } value
        ? TimeZoneInfo.ConvertTime(value, Context.Time.LocalTimeZone).ToString(seconds ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : "-";

    /// <summary>
    /// Text from a contact made safe for a terminal: control characters (escape sequences could
    /// rewrite the screen) are shown as <c>\uXXXX</c>; line breaks stay.
    /// </summary>
    public static string Safe(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c == '\n' || !char.IsControl(c))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }
        return builder.ToString();
    }

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

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken ct)
    {
        try
        {
            return await ExecuteAsync(parseResult, ct);
        }
        catch (CliException exception)
        {
            return Fail(parseResult, exception);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Context.WriteError("pigeon: interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception exception) when (exception is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            return Fail(parseResult, new CliException(ExitCodes.StoreFailure, $"The profile could not be read or written: {exception.Message}", exception));
        }
        catch (Protocol.ProtocolException exception)
        {
            return Fail(parseResult, new CliException(ExitCodes.CryptoFailure, $"A cryptographic check failed ({exception.Reason}): {exception.Message}", exception));
        }
    }
}
