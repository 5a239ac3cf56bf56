namespace Pigeon.Grains.Hosting;

/// <summary>Names of the Orleans grain storage providers Pigeon's grains use.</summary>
public static class PigeonStorage
{
    /// <summary>The grain storage provider holding account state.</summary>
    public const string Accounts = "pigeon-accounts";
}
