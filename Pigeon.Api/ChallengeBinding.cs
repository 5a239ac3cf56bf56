using System.Buffers.Binary;
using System.Text;

namespace Pigeon.Api;

/// <summary>
/// What the identity key signs to answer a sign-in challenge: the challenge bound to the origin of the
/// server the client means to sign in to (<c>scheme://host[:port]</c>, as in RFC 6454). A server checks
/// the signature against its own origins only, so an answer given to one server is of no use at
/// another: a relay that passes a real server's challenges on to a client cannot sign in with the
/// client's answers. (The signature itself is Pigeon.Protocol's auth-challenge signature, which also
/// binds the account id, over these bytes.)
/// </summary>
public static class ChallengeBinding
{
    private static readonly byte[] Label = Encoding.ASCII.GetBytes("Pigeon/1/auth-origin\0");

    /// <summary>
    /// The origin of <paramref name="serverAddress"/>: its scheme, host (lowercase, IPv6 in brackets) and
    /// port unless it is the scheme's default; no user information, path or query.
    /// </summary>
    public static string OriginOf(Uri serverAddress)
    {
        ArgumentNullException.ThrowIfNull(serverAddress);
        if (!serverAddress.IsAbsoluteUri)
        {
            throw new ArgumentException("The server's address must be absolute.", nameof(serverAddress));
        }

        return serverAddress.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped).ToLowerInvariant();
    }

    /// <summary>The origin of an address given as text; null when it is not an absolute http or https URL.</summary>
    public static string? TryOriginOf(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? OriginOf(uri) : null;

    /// <summary>The bytes to sign: a label, the origin's length and bytes, then the challenge as issued.</summary>
    public static byte[] Bind(string origin, ReadOnlySpan<byte> challenge)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var originBytes = Encoding.UTF8.GetBytes(origin);
        var message = new byte[Label.Length + 4 + originBytes.Length + challenge.Length];
        var span = message.AsSpan();
        Label.CopyTo(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[Label.Length..], (uint)originBytes.Length);
        originBytes.CopyTo(span[(Label.Length + 4)..]);
        challenge.CopyTo(span[(Label.Length + 4 + originBytes.Length)..]);
        return message;
    }
}
