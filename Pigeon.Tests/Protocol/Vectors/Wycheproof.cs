using System.Text.Json;

namespace Pigeon.Tests.Protocol.Vectors;

/// <summary>One Wycheproof case with its group, as read from a vector file in the test output directory.</summary>
internal sealed record WycheproofCase(int TcId, string Result, IReadOnlyList<string> Flags, JsonElement Test, JsonElement Group)
{
    public bool IsValid => Result == "valid";
    public bool IsInvalid => Result == "invalid";
    public bool IsAcceptable => Result == "acceptable";

    public byte[] Hex(string field) => Convert.FromHexString(Test.GetProperty(field).GetString()!);

    public bool Has(string field) => Test.TryGetProperty(field, out _);
}

/// <summary>Loads Wycheproof files copied to <c>Vectors/wycheproof/</c> and checks every case.</summary>
internal static class Wycheproof
{
    public static IReadOnlyList<WycheproofCase> Load(string fileName)
    {
        // Read from the output directory: a fresh clone has no ../shared.
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", "wycheproof", fileName);
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var cases = new List<WycheproofCase>();
        foreach (var group in document.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (var test in group.GetProperty("tests").EnumerateArray())
            {
                var flags = test.TryGetProperty("flags", out var f) ? f.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
                cases.Add(new WycheproofCase(test.GetProperty("tcId").GetInt32(), test.GetProperty("result").GetString()!, flags, test.Clone(), group.Clone()));
            }
        }

        var declared = document.RootElement.GetProperty("numberOfTests").GetInt32();
        Assert.True(cases.Count > 0, $"{fileName} has no cases");
        Assert.Equal(declared, cases.Count);
        return cases;
    }

    /// <summary>Runs <paramref name="check"/> on every case; it returns null when the case passes or a reason when it fails.</summary>
    public static void AssertAll(IReadOnlyList<WycheproofCase> cases, Func<WycheproofCase, string?> check)
    {
        var failures = new List<string>();
        foreach (var c in cases)
        {
            string? failure;
            try
            {
                failure = check(c);
            }
            catch (Exception e)
            {
                failure = "unexpected " + e.GetType().Name + ": " + e.Message;
            }

            if (failure is not null)
            {
                failures.Add($"tcId {c.TcId} ({c.Result}; {string.Join(',', c.Flags)}): {failure}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join('\n', failures));
    }
}
