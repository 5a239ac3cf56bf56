using System.Text.RegularExpressions;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Database;

public sealed partial class OrleansQueryContractTests
{
    // The parameters Orleans 10.4.2 binds for each key (its DbStoredQueries.Columns and
    // AdoNetGrainStorage). A text naming any other @Name fails at run time: PostgreSQL parses it as
    // the @ (absolute value) operator applied to a column.
    private static readonly Dictionary<string, string[]> SentParameters = new()
    {
        ["InsertMembershipVersionKey"] = ["DeploymentId"],
        ["InsertMembershipKey"] = ["DeploymentId", "Address", "Port", "Generation", "SiloName", "HostName", "Status", "ProxyPort", "StartTime", "IAmAliveTime", "Version"],
        ["UpdateMembershipKey"] = ["DeploymentId", "Address", "Port", "Generation", "Status", "SuspectTimes", "IAmAliveTime", "Version"],
        ["UpdateIAmAlivetimeKey"] = ["DeploymentId", "Address", "Port", "Generation", "IAmAliveTime"],
        ["MembershipReadRowKey"] = ["DeploymentId", "Address", "Port", "Generation"],
        ["MembershipReadAllKey"] = ["DeploymentId"],
        ["GatewaysQueryKey"] = ["DeploymentId", "Status"],
        ["DeleteMembershipTableEntriesKey"] = ["DeploymentId"],
        ["CleanupDefunctSiloEntriesKey"] = ["DeploymentId", "IAmAliveTime"],
        ["CleanupDefunctSiloEntryKey"] = ["DeploymentId", "Address", "Port", "Generation", "IAmAliveTime", "StartTime", "SuspectTimes"],
        ["WriteToStorageKey"] = ["GrainIdHash", "GrainIdN0", "GrainIdN1", "GrainTypeHash", "GrainTypeString", "GrainIdExtensionString", "ServiceId", "GrainStateVersion", "PayloadBinary"],
        ["ReadFromStorageKey"] = ["GrainIdHash", "GrainIdN0", "GrainIdN1", "GrainTypeHash", "GrainTypeString", "GrainIdExtensionString", "ServiceId"],
        ["ClearStorageKey"] = ["GrainIdHash", "GrainIdN0", "GrainIdN1", "GrainTypeHash", "GrainTypeString", "GrainIdExtensionString", "ServiceId", "GrainStateVersion"],
        ["DeleteStorageKey"] = ["GrainIdHash", "GrainIdN0", "GrainIdN1", "GrainTypeHash", "GrainTypeString", "GrainIdExtensionString", "ServiceId", "GrainStateVersion"],
    };

    [Fact]
    public async Task StoredQueries_NameOnlyParametersOrleansSends()
    {
        await using var database = await TestDatabase.CreateAsync(ct: TestContext.Current.CancellationToken);
        await using var command = database.DataSource.CreateCommand("SELECT QueryKey, QueryText FROM OrleansQuery");
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var seen = new HashSet<string>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            var key = reader.GetString(0);
            if (!SentParameters.TryGetValue(key, out var sent))
            {
                continue;
            }

            seen.Add(key);
            var named = ParameterPattern().Matches(reader.GetString(1)).Select(m => m.Groups[1].Value).ToHashSet();
            Assert.True(named.IsSubsetOf(sent), $"{key} names {string.Join(", ", named.Except(sent))}, which Orleans does not send.");
        }

        Assert.Equal(SentParameters.Keys.Order(), seen.Order());
    }

    [GeneratedRegex(@"@([A-Za-z][A-Za-z0-9]*)")]
    private static partial Regex ParameterPattern();
}
