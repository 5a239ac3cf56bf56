using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Gateway.Hosting;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Client;

/// <summary>
/// Pigeon.Api is the one contract of the HTTP API: every record it declares round-trips through the
/// gateway's own JSON options and reads back alike with the clients' (<see cref="PigeonJson.Options"/>),
/// and both are strict. Also the client's inner message format.
/// </summary>
public sealed class WireContractTests
{
    private static readonly Lazy<JsonSerializerOptions> GatewayOptions = new(() =>
    {
        // The gateway's composition, not started: its JSON options as its Minimal APIs bind them.
        var builder = WebApplication.CreateBuilder();
        builder.AddPigeonGateway();
        using var services = builder.Services.BuildServiceProvider();
        return services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
    });

    /// <summary>Every record of the API (bodies and their parts), but problems, which are extensible.</summary>
    public static TheoryData<string> Records() => [.. ApiRecords().Where(t => t != typeof(ApiProblem)).Select(t => t.Name)];

    /// <summary>The records of <see cref="Records"/> with members a body must carry.</summary>
    public static TheoryData<string> RecordsWithRequiredMembers() =>
        [.. ApiRecords().Where(t => t != typeof(ApiProblem) && RequiredMembers(t).Any()).Select(t => t.Name)];

    /// <summary>The records of <see cref="Records"/> with members that may be null.</summary>
    public static TheoryData<string> RecordsWithNullableMembers() =>
        [.. ApiRecords().Where(t => t != typeof(ApiProblem) && t.GetConstructors().Single().GetParameters().Any(IsNullable)).Select(t => t.Name)];

    [Fact]
    public void EveryRecordOfTheApi_IsABodyTheContextDeclares_OrPartOfOne()
    {
        var reachable = new HashSet<Type>();
        foreach (var body in typeof(PigeonJsonContext).GetCustomAttributesData().Where(a => a.AttributeType == typeof(JsonSerializableAttribute)))
        {
            Collect((Type)body.ConstructorArguments[0].Value!, reachable);
        }

        Assert.Equal(ApiRecords().Select(t => t.Name).Order(), reachable.Select(t => t.Name).Order());
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Record_RoundTripsThroughTheGatewaysOptions_AndReadsBackAlikeWithTheClients(string name)
    {
        var type = RecordType(name);
        var sample = Sample(type);

        var written = JsonSerializer.Serialize(sample, type, GatewayOptions.Value);
        var byGateway = JsonSerializer.Deserialize(written, type, GatewayOptions.Value)!;
        var byClient = JsonSerializer.Deserialize(written, type, PigeonJson.Options)!;

        Assert.Equal(written, JsonSerializer.Serialize(byGateway, type, GatewayOptions.Value));
        Assert.Equal(written, JsonSerializer.Serialize(byClient, type, PigeonJson.Options));
        Assert.Equal(written, JsonSerializer.Serialize(sample, type, PigeonJson.Options));
        // camelCase names, byte arrays as base64 (the sample's arrays start 1, 2, 3).
        Assert.DoesNotMatch("\"[A-Z][A-Za-z]*\":", written);
        Assert.DoesNotContain("[1,2,3", written, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RecordsWithNullableMembers))]
    public void Record_WithItsNullableMembersNull_RoundTripsThemAsNull(string name)
    {
        var type = RecordType(name);
        var sample = Sample(type, nullWherever: true);

        var written = JsonSerializer.Serialize(sample, type, PigeonJson.Options);
        var byGateway = JsonSerializer.Deserialize(written, type, GatewayOptions.Value)!;

        Assert.Equal(written, JsonSerializer.Serialize(sample, type, GatewayOptions.Value));
        Assert.Equal(written, JsonSerializer.Serialize(byGateway, type, PigeonJson.Options));
        foreach (var parameter in type.GetConstructors().Single().GetParameters().Where(IsNullable))
        {
            Assert.Contains($"\"{JsonNamingPolicy.CamelCase.ConvertName(parameter.Name!)}\":null", written, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Record_WithAnUnknownMember_IsRefusedByBothEnds(string name)
    {
        var type = RecordType(name);
        var written = JsonSerializer.Serialize(Sample(type), type, PigeonJson.Options);

        AssertRefusedByBothEnds(written.Insert(1, "\"unknownMember\":1,"), type);
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Record_WithAMemberNamedTwice_IsRefusedByBothEnds(string name)
    {
        var type = RecordType(name);
        var written = JsonSerializer.Serialize(Sample(type), type, PigeonJson.Options);
        using var document = JsonDocument.Parse(written);
        var first = document.RootElement.EnumerateObject().First();

        AssertRefusedByBothEnds(written.Insert(1, $"\"{first.Name}\":{first.Value.GetRawText()},"), type);
        // Names are matched without regard to case, so another spelling is the same member again.
        AssertRefusedByBothEnds(written.Insert(1, $"\"{char.ToUpperInvariant(first.Name[0])}{first.Name[1..]}\":{first.Value.GetRawText()},"), type);
    }

    [Theory]
    [MemberData(nameof(RecordsWithRequiredMembers))]
    public void Record_WithoutARequiredMember_OrWithNullForOne_IsRefusedByBothEnds(string name)
    {
        var type = RecordType(name);
        var written = JsonSerializer.Serialize(Sample(type), type, PigeonJson.Options);
        foreach (var parameter in RequiredMembers(type))
        {
            var member = JsonNamingPolicy.CamelCase.ConvertName(parameter.Name!);
            var without = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(written)!;
            Assert.True(without.Remove(member), member);
            AssertRefusedByBothEnds(JsonSerializer.Serialize(without), type);

            if (!IsNullable(parameter))
            {
                var nulled = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(written)!;
                nulled[member] = JsonDocument.Parse("null").RootElement.Clone();
                AssertRefusedByBothEnds(JsonSerializer.Serialize(nulled), type);
            }
        }
    }

    [Fact]
    public void KeySizes_OfTheContract_AreTheProtocols()
    {
        Assert.Equal(ProtocolInfo.PublicKeySize, ApiLimits.PublicKeyBytes);
        Assert.Equal(ProtocolInfo.MlKemPublicKeySize, ApiLimits.KemPublicKeyBytes);
        Assert.Equal(ProtocolInfo.SignatureSize, ApiLimits.SignatureBytes);
    }

    [Fact]
    public void Problems_AreReadWithTheirExtensions()
    {
        var problem = JsonSerializer.Deserialize(
            """{"type":"urn:pigeon:problem:mailbox-full","title":"Full.","status":409,"detail":"d","traceId":"00-ab"}""", PigeonJson.TypeInfo<ApiProblem>());

        Assert.Equal(new ApiProblem(ProblemTypes.MailboxFull, "Full.", "d", 409), problem);
    }

    [Fact]
    public void InnerMessage_RoundTrips_AndIsCompactJson()
    {
        var sent = new InnerMessage(InnerMessageType.Text, "Alice", "hello ☃", DateTimeOffset.FromUnixTimeMilliseconds(1_764_043_200_000));

        var bytes = sent.ToBytes();

        Assert.Equal("""{"v":2,"t":"text","n":"Alice","b":"hello \u2603","at":1764043200000}""", Encoding.UTF8.GetString(bytes));
        Assert.Equal(sent, InnerMessage.Parse(bytes));
        var request = new InnerMessage(InnerMessageType.ContactRequest, "Bob", null, sent.SentAt);
        Assert.Equal(request, InnerMessage.Parse(request.ToBytes()));
        var key = DeliveryKey.Generate(3);
        var withKey = InnerMessage.Parse((request with { SenderDeliveryKey = key }).ToBytes());
        Assert.Equal(key.ToBytes(), withKey.SenderDeliveryKey!.ToBytes());
    }

    [Fact]
    public void InnerMessage_ReceiptsAndTyping_AreTheDocumentedBytes_AndRoundTrip()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_764_043_260_000);
        var id = Guid.Parse("0b9f4c1e-8d62-4a3e-9a57-2f1d6c0e7b14");
        var read = new InnerMessage(InnerMessageType.Read, "Bob", null, at, MessageIds: [id]);
        var typing = new InnerMessage(InnerMessageType.Typing, "Bob", null, at, IsTyping: true);

        Assert.Equal("""{"v":2,"t":"read","n":"Bob","at":1764043260000,"r":["0b9f4c1e-8d62-4a3e-9a57-2f1d6c0e7b14"]}""", Encoding.UTF8.GetString(read.ToBytes()));
        Assert.Equal(92, read.ToBytes().Length);
        Assert.Equal("""{"v":2,"t":"typing","n":"Bob","at":1764043260000,"on":true}""", Encoding.UTF8.GetString(typing.ToBytes()));
        Assert.Equal([id], InnerMessage.Parse(read.ToBytes()).MessageIds);
        var delivered = InnerMessage.Parse((read with { Type = InnerMessageType.Delivered }).ToBytes());
        Assert.Equal(InnerMessageType.Delivered, delivered.Type);
        Assert.Equal([id], delivered.MessageIds);
        Assert.False(InnerMessage.Parse((typing with { IsTyping = false }).ToBytes()).IsTyping);
    }

    [Fact]
    public void InnerMessage_AContactSync_RoundTrips_AndAMalformedOneIsRefused()
    {
        using var bob = IdentityKeyPair.Generate();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_764_043_260_000);
        var key = DeliveryKey.Generate(2);
        var saved = new ContactSync(bob.AccountId, ContactChange.Saved, "Bob", bob.PublicIdentity.ToBytes(), ContactState.Accepted, true, 1_764_043_000_000, 3600, key.ToBytes());
        var sync = new InnerMessage(InnerMessageType.ContactSync, "Alice", null, at, Contact: saved);

        var json = Encoding.UTF8.GetString(sync.ToBytes());
        var parsed = InnerMessage.Parse(sync.ToBytes()).Contact!;

        Assert.StartsWith($$"""{"v":2,"t":"contact","n":"Alice","at":1764043260000,"c":{"id":"{{bob.AccountId}}","do":"Saved","n":"Bob","ik":""", json, StringComparison.Ordinal);
        Assert.Equal((saved.AccountId, saved.Change, saved.State, saved.Verified, saved.TimerSeconds), (parsed.AccountId, parsed.Change, parsed.State, parsed.Verified, parsed.TimerSeconds));
        Assert.Equal(saved.Identity, parsed.Identity);
        Assert.Equal(saved.DeliveryKey, parsed.DeliveryKey);
        Assert.Equal(ContactChange.Removed, InnerMessage.Parse((sync with { Contact = new ContactSync(bob.AccountId, ContactChange.Removed) }).ToBytes()).Contact!.Change);
        using var carol = IdentityKeyPair.Generate();
        foreach (var malformed in new[] { saved with { Identity = null }, saved with { State = null }, saved with { Identity = carol.PublicIdentity.ToBytes() },
            saved with { AccountId = "not-an-account" }, saved with { TimerSeconds = -5 }, saved with { DeliveryKey = [1, 2, 3] } })
        {
            Assert.Throws<FormatException>(() => InnerMessage.Parse((sync with { Contact = malformed }).ToBytes()));
        }

        Assert.Throws<FormatException>(() => InnerMessage.Parse(Encoding.UTF8.GetBytes("""{"v":2,"t":"contact","n":"A","at":0}""")));
    }

    [Theory]
    [InlineData("""{"v":2,"t":"read","n":"A","at":0}""")]
    [InlineData("""{"v":2,"t":"delivered","n":"A","at":0,"r":[]}""")]
    [InlineData("""{"v":2,"t":"read","n":"A","at":0,"r":["not-a-guid"]}""")]
    [InlineData("""{"v":2,"t":"typing","n":"A","at":0}""")]
    public void InnerMessage_RefusesAReceiptWithoutIds_OrTypingWithoutState(string json) =>
        Assert.Throws<FormatException>(() => InnerMessage.Parse(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void InnerMessage_RefusesAReceiptOfMoreThanAHundredIds()
    {
        var ids = string.Join(',', Enumerable.Range(0, InnerMessage.MaxReceiptIds + 1).Select(_ => $"\"{Guid.NewGuid()}\""));
        Assert.Throws<FormatException>(() => InnerMessage.Parse(Encoding.UTF8.GetBytes($$"""{"v":2,"t":"read","n":"A","at":0,"r":[{{ids}}]}""")));
    }

    [Theory]
    [InlineData("""{"v":1,"t":"text","n":"A","b":"x","at":0}""")]
    [InlineData("""{"v":2,"t":"poke","n":"A","at":0}""")]
    [InlineData("""{"v":2,"t":"text","n":"A","at":0}""")]
    [InlineData("not json")]
    [InlineData("""{"v":2,"t":"text","n":"\u001b[2J","b":"x","at":0}""")]
    [InlineData("""{"v":2,"t":"request","n":"A","at":0,"dk":"AAAA"}""")]
    public void InnerMessage_RefusesWhatItDoesNotKnow(string json) =>
        Assert.Throws<FormatException>(() => InnerMessage.Parse(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void InnerMessage_IgnoresUnknownMembers() =>
        Assert.Equal("x", InnerMessage.Parse("""{"v":2,"t":"text","n":"A","b":"x","at":0,"later":true}"""u8).Body);

    private static void AssertRefusedByBothEnds(string json, Type type)
    {
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, type, GatewayOptions.Value));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, type, PigeonJson.Options));
    }

    // Records, not the credentials a client signs in with (which never cross the wire).
    private static IEnumerable<Type> ApiRecords() =>
        typeof(PigeonJson).Assembly.GetExportedTypes().Where(t => t.GetMethod("<Clone>$") is not null && t != typeof(ApiCredentials));

    private static Type RecordType(string name) => ApiRecords().Single(t => t.Name == name);

    private static IEnumerable<ParameterInfo> RequiredMembers(Type type) =>
        type.GetConstructors().Single().GetParameters().Where(p => !p.HasDefaultValue);

    private static bool IsNullable(ParameterInfo parameter) =>
        parameter.ParameterType.IsValueType
            ? Nullable.GetUnderlyingType(parameter.ParameterType) is not null
            : new NullabilityInfoContext().Create(parameter).WriteState == NullabilityState.Nullable;

    private static void Collect(Type type, HashSet<Type> records)
    {
        if (type.Assembly != typeof(PigeonJson).Assembly || !records.Add(type))
        {
            return;
        }

        foreach (var parameter in type.GetConstructors().Single().GetParameters())
        {
            var inner = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
            Collect(inner.IsGenericType ? inner.GetGenericArguments()[0] : inner, records);
        }
    }

    // A value of every member, none of them a default, so that a member lost on the way shows; or,
    // with nullWherever, null for every member that may be null.
    private static object Sample(Type type, bool nullWherever = false)
    {
        var counter = 0;
        return Build(type);

        object? Member(ParameterInfo parameter) => nullWherever && IsNullable(parameter) ? null : Build(parameter.ParameterType);

        object Build(Type t)
        {
            counter++;
            t = Nullable.GetUnderlyingType(t) ?? t;
            return t switch
            {
                _ when t == typeof(string) => $"text{counter}",
                _ when t == typeof(byte[]) => new byte[] { 1, 2, 3, (byte)counter },
                _ when t == typeof(Guid) => new Guid(counter, 0, 0, new byte[8]),
                _ when t == typeof(int) => counter,
                _ when t == typeof(uint) => (uint)counter,
                _ when t == typeof(long) => (long)counter,
                _ when t == typeof(ulong) => (ulong)counter,
                _ when t == typeof(bool) => true,
                _ when t == typeof(DateTimeOffset) => DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + counter),
                _ when t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) => List(t.GetGenericArguments()[0]),
                _ => t.GetConstructors().Single().Invoke([.. t.GetConstructors().Single().GetParameters().Select(Member)]),
            };
        }

        object List(Type element)
        {
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            list.Add(Build(element));
            list.Add(Build(element));
            return list;
        }
    }
}
