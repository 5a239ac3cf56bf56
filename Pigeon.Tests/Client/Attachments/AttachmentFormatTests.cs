using System.Security.Cryptography;
using System.Text;
using Pigeon.Client.Chat;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;

namespace Pigeon.Tests.Client.Attachments;

/// <summary>
/// The pieces of a file's way that need no server: the pointer inside the inner message (member
/// <c>a</c>), what a receiver accepts of it, the sender's names a file may take, sizes as people type
/// and read them, and the chat's <c>/attach</c>.
/// </summary>
public sealed class AttachmentFormatTests
{
    private static readonly AttachmentPointer Pointer = new(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32),
        RandomNumberGenerator.GetBytes(32), 123_456, "report.pdf", "application/pdf", 1_800_000_000_000);

    [Fact]
    public void APointer_RidesInATextAndAGroupText_AndComesBackWhole_WithOrWithoutACaption()
    {
        var text = new InnerMessage(InnerMessageType.Text, "Alice", "the report", DateTimeOffset.UnixEpoch, Attachment: Pointer);
        var bare = new InnerMessage(InnerMessageType.GroupText, "Alice", null, DateTimeOffset.UnixEpoch, GroupId: new byte[32], Attachment: Pointer);

        var parsed = InnerMessage.Parse(text.ToBytes());
        var parsedBare = InnerMessage.Parse(bare.ToBytes());

        Assert.Equal(("the report", Pointer.AttachmentId, Pointer.Size, Pointer.Name), (parsed.Body, parsed.Attachment!.AttachmentId, parsed.Attachment.Size, parsed.Attachment.Name));
        Assert.Equal(Pointer.Key, parsed.Attachment.Key);
        Assert.Equal(Pointer.Digest, parsed.Attachment.Digest);
        Assert.Equal(Pointer.Capability, parsed.Attachment.Capability);
        Assert.Equal(Pointer.ExpiresAt, parsed.Attachment.ExpiresAt);
        Assert.Null(parsedBare.Body);
        Assert.Equal(Pointer.AttachmentId, parsedBare.Attachment!.AttachmentId);
        Assert.Contains("\"a\":{\"id\":", Encoding.UTF8.GetString(text.ToBytes()), StringComparison.Ordinal);
    }

    public static TheoryData<string> Malformed => new()
    {
        { "a key of 31 bytes" },
        { "a digest of 33 bytes" },
        { "no capability" },
        { "a negative size" },
        { "a type of 200 characters" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void AMalformedPointer_MakesTheMessageRefused_NotHalfUnderstood(string what)
    {
        var pointer = what switch
        {
            "a key of 31 bytes" => Pointer with { Key = new byte[31] },
            "a digest of 33 bytes" => Pointer with { Digest = new byte[33] },
            "no capability" => Pointer with { Capability = [] },
            "a negative size" => Pointer with { Size = -1 },
            _ => Pointer with { ContentType = new string('x', 200) },
        };

        var bytes = new InnerMessage(InnerMessageType.Text, "Alice", "x", DateTimeOffset.UnixEpoch, Attachment: pointer).ToBytes();

        Assert.Contains("malformed attachment", Assert.Throws<FormatException>(() => InnerMessage.Parse(bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAttachmentOnAnythingButAText_IsIgnored()
    {
        var timer = new InnerMessage(InnerMessageType.Timer, "Alice", null, DateTimeOffset.UnixEpoch, Timer: TimeSpan.FromHours(1), Attachment: Pointer);

        Assert.Null(InnerMessage.Parse(timer.ToBytes()).Attachment);
    }

    [Theory]
    [InlineData("report.pdf")]
    [InlineData("Ünïcode naïve – 2026.txt")]
    [InlineData("archive.tar.gz")]
    [InlineData("a")]
    public void AnOrdinaryName_IsAccepted(string name) => Assert.Null(AttachmentNames.Problem(name));

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData(".bashrc")]
    [InlineData("name.")]
    [InlineData(" leading")]
    [InlineData("tab\there")]
    [InlineData("rtl\u202Eexe.txt")]
    [InlineData("zero\u200Bwidth")]
    [InlineData("NUL")]
    [InlineData("com1.txt")]
    [InlineData("stream:name")]
    [InlineData("")]
    public void AnUnsafeName_IsRefusedWithAReason(string name) => Assert.NotNull(AttachmentNames.Problem(name));

    [Fact]
    public void ANameLongerThanTheLimit_IsRefused()
    {
        Assert.Null(AttachmentNames.Problem(new string('a', AttachmentNames.MaxLength)));
        Assert.NotNull(AttachmentNames.Problem(new string('a', AttachmentNames.MaxLength + 1)));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("512B", 512L)]
    [InlineData("1K", 1024L)]
    [InlineData("1.5KiB", 1536L)]
    [InlineData("10MiB", 10L * 1024 * 1024)]
    [InlineData("10 mb", 10L * 1024 * 1024)]
    [InlineData("1GiB", 1024L * 1024 * 1024)]
    public void ASizeAsTyped_IsRead(string text, long bytes)
    {
        Assert.True(Sizes.TryParse(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ten")]
    [InlineData("-5")]
    [InlineData("5TB")]
    [InlineData("MiB")]
    public void ASizeThatIsNotOne_IsRefused(string text) => Assert.False(Sizes.TryParse(text, out _));

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(10L * 1024 * 1024, "10.0 MiB")]
    [InlineData(3L * 1024 * 1024 * 1024 / 2, "1.5 GiB")]
    public void ASize_IsShownInItsUnit(long bytes, string shown) => Assert.Equal(shown, Sizes.Format(bytes));

    [Theory]
    [InlineData("/attach /tmp/a b.txt", "/tmp/a b.txt")]
    [InlineData("  /attach   report.pdf  ", "report.pdf")]
    [InlineData("/attach", null)]
    [InlineData("/attachment x", null)]
    [InlineData("hello /attach x", null)]
    public void TheChatsAttachLine_NamesAPath_AndAnythingElseIsAText(string line, string? path) => Assert.Equal(path, ChatInput.AttachedPath(line));
}
