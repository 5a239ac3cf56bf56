using System.Text.Json;
using NSec.Cryptography;
using Pigeon.Protocol.Hpke;

namespace Pigeon.Tests.Protocol.Hpke;

/// <summary>
/// RFC 9180 Appendix A for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 with AES-128-GCM (A.1) and
/// ChaCha20-Poly1305 (A.2): base mode (A.x.1) and auth mode (A.x.3), every field of every entry.
/// </summary>
public sealed class HpkeVectorTests
{
    public static TheoryData<string> Entries => [.. Load().Select(v => v.Name)];

    /// <summary>
    /// Key pairs from DeriveKeyPair (§7.1.3), the KEM's shared secret and enc, the key schedule's key,
    /// base nonce and exporter secret, all six encryptions at their sequence numbers on both sides, the
    /// exported values, and the single-shot open of the first ciphertext.
    /// </summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void Hpke_Rfc9180AppendixA_ReproducesEveryValue(string name)
    {
        var v = Load().Single(e => e.Name == name);
        var aead = (HpkeAead)v.Int("aead_id");
        var info = v.Hex("info");
        Assert.Equal(32, v.Int("kem_id"));
        Assert.Equal(1, v.Int("kdf_id"));

        using var ephemeral = DerivedKeyPair(v, "E");
        using var recipient = DerivedKeyPair(v, "R");
        using var sender = v.Mode == HpkeMode.Auth ? DerivedKeyPair(v, "S") : null;

        var (sharedSecret, enc) = v.Mode == HpkeMode.Auth
            ? DhKem.AuthEncap(v.Hex("pkRm"), sender!, ephemeral)
            : DhKem.Encap(v.Hex("pkRm"), ephemeral);
        Assert.Equal(v.Hex("enc"), enc);
        Assert.Equal(v.Hex("shared_secret"), sharedSecret);
        Assert.Equal(v.Hex("shared_secret"), v.Mode == HpkeMode.Auth
            ? DhKem.AuthDecap(enc, recipient, v.Hex("pkSm"))
            : DhKem.Decap(enc, recipient));

        var (sentEnc, senderContext) = v.Mode == HpkeMode.Auth
            ? HpkeX25519.SetupAuthSender(aead, v.Hex("pkRm"), info, sender!, ephemeral)
            : HpkeX25519.SetupBaseSender(aead, v.Hex("pkRm"), info, ephemeral);
        using var sending = senderContext;
        using var receiving = v.Mode == HpkeMode.Auth
            ? HpkeX25519.SetupAuthRecipient(aead, sentEnc, recipient, info, v.Hex("pkSm"))
            : HpkeX25519.SetupBaseRecipient(aead, sentEnc, recipient, info);
        foreach (var context in new HpkeContext[] { sending, receiving })
        {
            Assert.Equal(v.Hex("key"), context.Key.ToArray());
            Assert.Equal(v.Hex("base_nonce"), context.BaseNonce.ToArray());
            Assert.Equal(v.Hex("exporter_secret"), context.ExporterSecret.ToArray());
        }

        // §5.2: the vectors list sequence numbers 0, 1, 2, 4, 255 and 256; the messages between are
        // sealed and opened too, so both contexts reach each listed number by counting.
        var encryptions = v.Array("encryptions").ToDictionary(e => (ulong)e.GetProperty("seq").GetInt32());
        var last = encryptions.Keys.Max();
        for (ulong seq = 0; seq <= last; seq++)
        {
            Assert.Equal(seq, sending.SequenceNumber);
            Assert.Equal(seq, receiving.SequenceNumber);
            if (encryptions.TryGetValue(seq, out var e))
            {
                var aad = Hex(e, "aad");
                var ciphertext = sending.Seal(aad, Hex(e, "pt"));
                Assert.Equal(Hex(e, "ct"), ciphertext);
                Assert.Equal(Hex(e, "pt"), receiving.Open(aad, Hex(e, "ct")));
            }
            else
            {
                receiving.Open([], sending.Seal([], []));
            }
        }

        foreach (var export in v.Array("exports").Concat(BaseExports(v)))
        {
            var exporterContext = Hex(export, "exporter_context");
            var length = export.GetProperty("L").GetInt32();
            Assert.Equal(Hex(export, "exported_value"), sending.Export(exporterContext, length));
            Assert.Equal(Hex(export, "exported_value"), receiving.Export(exporterContext, length));
        }

        var first = encryptions[0];
        var opened = v.Mode == HpkeMode.Auth
            ? HpkeX25519.OpenAuth(aead, v.Hex("enc"), recipient, info, Hex(first, "aad"), Hex(first, "ct"), v.Hex("pkSm"))
            : HpkeX25519.OpenBase(aead, v.Hex("enc"), recipient, info, Hex(first, "aad"), Hex(first, "ct"));
        Assert.Equal(Hex(first, "pt"), opened);
    }

    [Fact]
    public void Hpke_VectorFiles_CoverBothModesAndBothAeads()
    {
        var entries = Load();
        Assert.Equal(4, entries.Count);
        foreach (var mode in new[] { HpkeMode.Base, HpkeMode.Auth })
        {
            foreach (var aead in new[] { HpkeAead.Aes128Gcm, HpkeAead.ChaCha20Poly1305 })
            {
                var v = Assert.Single(entries, e => e.Mode == mode && (HpkeAead)e.Int("aead_id") == aead);
                Assert.Equal(6, v.Array("encryptions").Count());
                Assert.Equal(3, v.Array("exports").Concat(BaseExports(v)).Count());
            }
        }
    }

    private static Key DerivedKeyPair(VectorEntry v, string role)
    {
        var (key, publicKey) = DhKem.DeriveKeyPair(v.Hex($"ikm{role}"));
        Assert.Equal(v.Hex($"sk{role}m"), key.Export(KeyBlobFormat.RawPrivateKey));
        Assert.Equal(v.Hex($"pk{role}m"), publicKey);
        return key;
    }

    private static IEnumerable<JsonElement> BaseExports(VectorEntry v) =>
        v.Mode == HpkeMode.Base
            ? BaseExportFile().Single(x => x.GetProperty("aead_id").GetInt32() == v.Int("aead_id")).GetProperty("exports").EnumerateArray()
            : [];

    private static byte[] Hex(JsonElement e, string field) => Convert.FromHexString(e.GetProperty(field).GetString()!);

    private static List<VectorEntry> Load() =>
        [.. ReadArray("rfc9180-base-x25519.json").Concat(ReadArray("rfc9180-auth-x25519.json"))
            .Select(e => new VectorEntry(e))];

    private static List<JsonElement> BaseExportFile() => ReadArray("rfc9180-base-x25519-exports.json");

    private static List<JsonElement> ReadArray(string file)
    {
        // From the output directory: a fresh clone has no ../shared.
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", "rfc9180", file)));
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private sealed record VectorEntry(JsonElement Json)
    {
        public HpkeMode Mode => (HpkeMode)Int("mode");

        public string Name => $"{Json.GetProperty("Name").GetString()}, mode {Int("mode")}";

        public int Int(string field) => Json.GetProperty(field).GetInt32();

        public byte[] Hex(string field) => Convert.FromHexString(Json.GetProperty(field).GetString()!);

        public IEnumerable<JsonElement> Array(string field) =>
            Json.TryGetProperty(field, out var a) ? a.EnumerateArray() : [];
    }
}
