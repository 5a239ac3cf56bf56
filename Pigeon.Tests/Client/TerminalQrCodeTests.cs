using System.Security.Cryptography;
using Pigeon.Client.Cli;
using Pigeon.Protocol.Devices;
using ZXing;
using ZXing.Common;
using ZXing.QrCode;

namespace Pigeon.Tests.Client;

/// <summary>
/// The QR code <c>pigeon devices link</c> draws on a terminal: read back off the text, as a camera
/// would see it on a dark terminal (blocks light, spaces dark), it decodes to the link code.
/// </summary>
public sealed class TerminalQrCodeTests
{
    private const int PixelsPerModule = 4;

    [Fact]
    public void ALinkCode_DrawnForATerminal_ScansBackAsTheSameCode()
    {
        using var provisioning = ProvisioningKeyPair.Generate();
        var code = new LinkCode(Guid.NewGuid(), provisioning.PublicKey, RandomNumberGenerator.GetBytes(32)).ToString();

        var drawn = TerminalQrCode.Draw(code);

        Assert.Equal(code, Scan(drawn, out var modules));
        // A 107-character code fits a small code: under 60 modules a side, so under 60 columns and 30 lines.
        Assert.InRange(modules, 21, 60);
    }

    [Fact]
    public void AnotherText_ScansAsThatText_NotAsTheCode()
    {
        using var provisioning = ProvisioningKeyPair.Generate();
        var code = new LinkCode(Guid.NewGuid(), provisioning.PublicKey, RandomNumberGenerator.GetBytes(32)).ToString();

        Assert.NotEqual(code, Scan(TerminalQrCode.Draw(code[..^1] + (code[^1] == 'A' ? 'B' : 'A')), out _));
    }

    // Each character holds two modules, the upper and the lower half; a block is light.
    private static string Scan(string drawn, out int modules)
    {
        var lines = drawn.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var width = lines.Max(l => l.Length);
        var height = lines.Length * 2;
        modules = width;
        var pixels = new byte[width * PixelsPerModule * height * PixelsPerModule];
        for (var row = 0; row < lines.Length; row++)
        {
            for (var column = 0; column < lines[row].Length; column++)
            {
                (bool Upper, bool Lower) halves = lines[row][column] switch
                {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    var other => throw new System.FormatException($"Not a half-block character: U+{(int)other:X4}."),
                };
                Paint(pixels, width, column, row * 2, halves.Upper);
                Paint(pixels, width, column, (row * 2) + 1, halves.Lower);
            }
        }

        var source = new RGBLuminanceSource(pixels, width * PixelsPerModule, height * PixelsPerModule, RGBLuminanceSource.BitmapFormat.Gray8);
        var result = new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)));
        return result?.Text ?? throw new System.FormatException("The drawing does not scan as a QR code.");
    }

    private static void Paint(byte[] pixels, int modulesWide, int x, int y, bool light)
    {
        var stride = modulesWide * PixelsPerModule;
        for (var dy = 0; dy < PixelsPerModule; dy++)
        {
            pixels.AsSpan(((y * PixelsPerModule) + dy) * stride + (x * PixelsPerModule), PixelsPerModule).Fill(light ? (byte)255 : (byte)0);
        }
    }
}
