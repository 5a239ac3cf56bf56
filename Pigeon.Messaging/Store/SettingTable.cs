namespace Pigeon.Messaging.Store;

/// <summary>Table <c>settings</c>: one text value per name; a name without a row has its default.</summary>
internal sealed class SettingTable(ProfileDatabase database)
{
    /// <summary>The value of <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => database.Scalar("SELECT value FROM settings WHERE name = $name", ("$name", name)) as string;

    /// <summary>Sets <paramref name="name"/>.</summary>
    public void Set(string name, string value) => database.Execute(
        "INSERT INTO settings (name, value) VALUES ($name, $value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        ("$name", name), ("$value", value));
}
