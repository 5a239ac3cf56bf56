using System.Globalization;
using System.Text;

namespace Pigeon.Client.Cli;

/// <summary>
/// The one way text a peer chose (a display name, a message, a request's note) is shown: in the line
/// commands, the full-screen chat and the daemon's text fields. What could rewrite the screen or forge
/// what is shown comes out as the six visible characters <c>\uXXXX</c>: control characters (escape
/// sequences), Unicode bidirectional controls (which reorder the rest of a line) and other format
/// characters, and the Unicode line and paragraph separators. The zero-width joiner and non-joiner stay,
/// because emoji sequences and several scripts need them. A line break in a message never starts a line
/// of its own: <see cref="Block"/> indents what follows it, and <see cref="Inline"/> escapes it.
/// </summary>
public static class PeerText
{
    private const char ZeroWidthNonJoiner = '\u200C';
    private const char ZeroWidthJoiner = '\u200D';

    /// <summary>For one line (names, table cells): line breaks are escaped too.</summary>
    public static string Inline(string? text) => Escape(text, keepNewlines: false, continuation: "");

    /// <summary>For a message body that may span lines: each line after the first begins with <paramref name="continuation"/>.</summary>
    public static string Block(string? text, string continuation) => Escape(text, keepNewlines: true, continuation: continuation);

    /// <summary>For a JSON string field: JSON escapes control characters itself, so line breaks stay as they are.</summary>
    public static string? Json(string? text) => text is null ? null : Escape(text, keepNewlines: true, continuation: "");

    /// <summary>True for a character <see cref="Inline"/> escapes.</summary>
    public static bool IsUnsafe(char c) =>
        char.IsControl(c)
        || (char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            && c is not (ZeroWidthJoiner or ZeroWidthNonJoiner));

    private static string Escape(string? text, bool keepNewlines, string continuation)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c == '\n' && keepNewlines)
            {
                builder.Append('\n').Append(continuation);
            }
            else if (IsUnsafe(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
