using QRCoder;

namespace Pigeon.Client.Cli;

/// <summary>
/// A QR code for a terminal (QRCoder's half-block text, two module rows a line), so a link code can be
/// scanned off the screen instead of typed.
/// </summary>
internal static class TerminalQrCode
{
    /// <summary>
    /// <paramref name="text"/> as a QR code (error correction M) with its quiet zone. The blocks are
    /// the light modules: on the usual dark terminal the code reads dark on light, as scanners expect.
    /// </summary>
    public static string Draw(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        // Not inverted, QRCoder draws the light modules as blocks.
        return new AsciiQRCode(data).GetGraphicSmall(drawQuietZones: true, invert: false);
    }
}
