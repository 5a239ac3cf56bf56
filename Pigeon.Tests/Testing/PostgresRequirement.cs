namespace Pigeon.Tests.Testing;

/// <summary>
/// The one rule for tests that need PostgreSQL: the server comes from <c>PIGEON_TEST_POSTGRES</c>
/// (set by <c>scripts/test.sh</c>); without it a test is skipped on a developer machine and fails
/// on a build server (<c>CI</c> set), so CI can never pass by skipping.
/// </summary>
public static class PostgresRequirement
{
    /// <summary>The environment variable holding a superuser connection string.</summary>
    public const string VariableName = "PIGEON_TEST_POSTGRES";

    /// <summary>
    /// The connection string of the test server; skips or fails the current test when there is none.
    /// </summary>
    public static string ConnectionString()
    {
        var connectionString = Environment.GetEnvironmentVariable(VariableName);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return connectionString;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail($"{VariableName} is not set, and CI is: run the tests with 'bash scripts/test.sh', which starts a private PostgreSQL and sets it.");
        }

        Assert.Skip($"{VariableName} is not set: run 'bash scripts/test.sh' to run this test against a private PostgreSQL.");
        return string.Empty;
    }

    /// <summary>Whether a test server is configured, without skipping or failing anything.</summary>
    public static bool IsConfigured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(VariableName));
}
