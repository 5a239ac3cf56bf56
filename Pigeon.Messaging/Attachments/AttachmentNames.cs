namespace Pigeon.Messaging.Attachments;

/// <summary>
/// Which file names from a sender may become a file here. The name arrives in the encrypted message,
/// so its author is a contact, not the user: a name that would climb out of the folder, hide itself,
/// name a device or mislead a terminal is refused, never "cleaned" into something else.
/// </summary>
public static class AttachmentNames
{
    /// <summary>The longest name accepted, in UTF-16 units (below every common file system's 255-byte limit for ASCII).</summary>
    public const int MaxLength = 200;

    private static readonly HashSet<string> ReservedOnWindows = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>Why <paramref name="name"/> cannot be used as a file name, or null when it can.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "the name is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"the name is longer than {MaxLength} characters";
        }

        if (name.Contains('/') || name.Contains('\\') || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            return "the name contains a path separator or a character files cannot have";
        }

        if (name.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format))
        {
            return "the name contains control or invisible formatting characters";
        }

        if (name.StartsWith('.') || name.EndsWith('.') || name.EndsWith(' ') || name.StartsWith(' '))
        {
            return "the name starts or ends with a dot or a space";
        }

        if (name.Contains(':') || ReservedOnWindows.Contains(Path.GetFileNameWithoutExtension(name)))
        {
            return "the name is reserved for devices or streams on some systems";
        }

        return null;
    }
}
