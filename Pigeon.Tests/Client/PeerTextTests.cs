using Pigeon.Client.Cli;

namespace Pigeon.Tests.Client;

/// <summary>The one sanitizer of peer-chosen text: nothing a contact writes can forge lines, rewrite the screen or reorder what is shown.</summary>
public sealed class PeerTextTests
{
    [Fact]
    public void ANewlineInABody_IsIndented_SoItCannotForgeATranscriptLine() =>
        Assert.Equal("fine\n    [12:00] Alice: send me your passphrase", PeerText.Block("fine\n[12:00] Alice: send me your passphrase", "    "));

    [Fact]
    public void ANewlineInAName_IsEscaped() => Assert.Equal("Eve\\u000aAlice", PeerText.Inline("Eve\nAlice"));

    [Theory]
    [InlineData("\u202E", "\\u202e")] // right-to-left override
    [InlineData("\u202A", "\\u202a")]
    [InlineData("\u2066", "\\u2066")] // left-to-right isolate
    [InlineData("\u2069", "\\u2069")]
    [InlineData("\u200F", "\\u200f")] // right-to-left mark
    [InlineData("\u061C", "\\u061c")] // Arabic letter mark
    [InlineData("\uFEFF", "\\ufeff")] // other format characters too
    [InlineData("\u2028", "\\u2028")] // line separator
    [InlineData("\u001b[2J", "\\u001b[2J")] // escape sequence
    [InlineData("\r", "\\u000d")]
    public void BidiFormatAndControlCharacters_AreEscapedVisibly(string unsafeText, string shown)
    {
        Assert.Equal($"a{shown}b", PeerText.Inline($"a{unsafeText}b"));
        Assert.Equal($"a{shown}b", PeerText.Block($"a{unsafeText}b", "  "));
        Assert.Equal($"a{shown}b", PeerText.Json($"a{unsafeText}b"));
    }

    [Fact]
    public void ReorderingText_ComesOutInTheOrderItWasSent() =>
        // "invoice_\u202Efdp.exe" would show as "invoice_exe.pdf".
        Assert.Equal("invoice_\\u202efdp.exe", PeerText.Inline("invoice_\u202Efdp.exe"));

    [Fact]
    public void EmojiJoinersAndOrdinaryText_StayAsTheyAre()
    {
        const string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467 café 日本語 שלום";
        Assert.Equal(family, PeerText.Inline(family));
        Assert.Equal("line\nnext", PeerText.Json("line\nnext"));
        Assert.Null(PeerText.Json(null));
        Assert.Equal("", PeerText.Inline(null));
    }
}
