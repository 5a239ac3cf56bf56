using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Pigeon.Tests.Deployment;

/// <summary>The manifests <c>helm template</c> renders from <c>helm/pigeon</c>, parsed into plain maps and lists.</summary>
public sealed class RenderedChart
{
    private RenderedChart(string text, IReadOnlyList<Manifest> manifests)
    {
        Text = text;
        Manifests = manifests;
    }

    /// <summary>The rendered YAML.</summary>
    public string Text { get; }

    /// <summary>Every resource, in render order.</summary>
    public IReadOnlyList<Manifest> Manifests { get; }

    /// <summary>The example production values file.</summary>
    public static string ProductionValues => Scripts.PathOf("helm", "pigeon", "examples", "production-values.yaml");

    /// <summary>Renders the chart through <c>scripts/helm.sh template</c> with extra helm arguments.</summary>
    public static async Task<RenderedChart> RenderAsync(CancellationToken cancellationToken, params string[] helmArguments)
    {
        var result = await Scripts.RunAsync("helm.sh", ["template", .. helmArguments], TimeSpan.FromMinutes(3), cancellationToken);
        Assert.True(result.ExitCode == 0, $"helm template failed: {result}");
        return Parse(result.Output);
    }

    /// <summary>Parses a multi-document YAML stream.</summary>
    public static RenderedChart Parse(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var manifests = new List<Manifest>();
        while (parser.TryConsume<DocumentStart>(out _) || parser.Accept<MappingStart>(out _))
        {
            if (parser.Accept<DocumentEnd>(out _))
            {
                parser.Consume<DocumentEnd>();
                continue;
            }

            var document = deserializer.Deserialize<object?>(parser);
            parser.TryConsume<DocumentEnd>(out _);
            if (document is Dictionary<object, object> map)
            {
                manifests.Add(new Manifest(map));
            }
        }

        return new RenderedChart(yaml, manifests);
    }

    /// <summary>The resources of one kind.</summary>
    public IEnumerable<Manifest> OfKind(string kind) => Manifests.Where(m => m.Kind == kind);

    /// <summary>The one resource of this kind whose name ends with the suffix.</summary>
    public Manifest Single(string kind, string nameSuffix) =>
        Assert.Single(OfKind(kind), m => m.Name.EndsWith(nameSuffix, StringComparison.Ordinal));
}

/// <summary>One rendered resource, navigable by dotted paths.</summary>
public sealed class Manifest(Dictionary<object, object> root)
{
    /// <summary>The parsed document.</summary>
    public Dictionary<object, object> Root { get; } = root;

    /// <summary><c>kind</c>.</summary>
    public string Kind => Yaml.String(Root, "kind");

    /// <summary><c>metadata.name</c>.</summary>
    public string Name => Yaml.String(Root, "metadata.name");

    /// <summary><c>metadata.labels</c>.</summary>
    public Dictionary<object, object> Labels => Yaml.Map(Root, "metadata.labels");

    /// <summary><c>metadata.annotations</c>, empty when there are none.</summary>
    public Dictionary<object, object> Annotations => Yaml.Find(Root, "metadata.annotations") as Dictionary<object, object> ?? [];

    /// <summary>The pod spec of a Deployment or Job.</summary>
    public Dictionary<object, object> PodSpec => Yaml.Map(Root, "spec.template.spec");

    /// <summary>The pod spec's containers.</summary>
    public IEnumerable<Dictionary<object, object>> Containers => Yaml.List(PodSpec, "containers").Cast<Dictionary<object, object>>();

    /// <summary>The pod spec's only container.</summary>
    public Dictionary<object, object> Container => Assert.Single(Containers);

    /// <summary>One entry of a Secret's <c>data</c>, base64-decoded.</summary>
    public byte[] SecretData(string key) => Convert.FromBase64String(Yaml.StringKey(Yaml.Map(Root, "data"), key));

    public override string ToString() => $"{Kind}/{Name}";
}

/// <summary>Navigation over what YamlDotNet deserializes to: maps, lists and scalars as strings.</summary>
public static class Yaml
{
    /// <summary>The node at a dotted path, or null.</summary>
    public static object? Find(object node, string path)
    {
        object? current = node;
        foreach (var part in path.Split('.'))
        {
            if (current is not Dictionary<object, object> map || !map.TryGetValue(part, out current))
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>The node at a dotted path; fails when it is missing.</summary>
    public static object Get(object node, string path) =>
        Find(node, path) ?? throw new Xunit.Sdk.XunitException($"'{path}' is missing.");

    public static Dictionary<object, object> Map(object node, string path) =>
        Get(node, path) as Dictionary<object, object> ?? throw new Xunit.Sdk.XunitException($"'{path}' is not a map.");

    public static List<object> List(object node, string path) =>
        Get(node, path) as List<object> ?? throw new Xunit.Sdk.XunitException($"'{path}' is not a list.");

    public static string String(object node, string path) => Convert.ToString(Get(node, path), CultureInfo.InvariantCulture)!;

    public static int Int(object node, string path) => int.Parse(String(node, path), CultureInfo.InvariantCulture);

    /// <summary>The scalar under a key that may itself contain dots (annotations, labels).</summary>
    public static string StringKey(Dictionary<object, object> map, string key) =>
        map.TryGetValue(key, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture)! : throw new Xunit.Sdk.XunitException($"'{key}' is missing.");

    public static int IntKey(Dictionary<object, object> map, string key) => int.Parse(StringKey(map, key), CultureInfo.InvariantCulture);

    /// <summary>A container's environment variables by name.</summary>
    public static Dictionary<string, Dictionary<object, object>> Env(Dictionary<object, object> container) =>
        (Find(container, "env") as List<object> ?? [])
            .Cast<Dictionary<object, object>>()
            .ToDictionary(e => String(e, "name"), e => e, StringComparer.Ordinal);

    /// <summary>Every scalar under a node, depth first.</summary>
    public static IEnumerable<string> Scalars(object? node) => node switch
    {
        Dictionary<object, object> map => map.SelectMany(pair => Scalars(pair.Key).Concat(Scalars(pair.Value))),
        List<object> list => list.SelectMany(Scalars),
        null => [],
        _ => [Convert.ToString(node, CultureInfo.InvariantCulture)!],
    };
}
