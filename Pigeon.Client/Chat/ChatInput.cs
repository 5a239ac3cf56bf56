namespace Pigeon.Client.Chat;

/// <summary>What a line typed in <c>pigeon chat</c> asks for, beyond a text: <c>/attach PATH</c> sends a file.</summary>
internal static class ChatInput
{
    private const string Attach = "/attach";

    /// <summary>The path of an <c>/attach PATH</c> line (the rest of the line, so a path may hold spaces), or null for a text.</summary>
    public static string? AttachedPath(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var trimmed = line.Trim();
        if (!trimmed.StartsWith(Attach + " ", StringComparison.Ordinal))
        {
            return null;
        }

        var path = trimmed[Attach.Length..].Trim();
        if (path.StartsWith('~') && Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home)
        {
            path = home + path[1..];
        }

        return path;
    }
}
