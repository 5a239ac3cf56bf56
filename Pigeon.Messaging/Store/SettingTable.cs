using System.Text;

namespace Pigeon.Messaging.Store;

/// <summary>Sealed table <c>settings</c>: one text value per name; a name without a row has its default.</summary>
internal sealed class SettingTable(SealedTable table)
{
    /// <summary>The value of <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => table.Find(name) is { } value ? Encoding.UTF8.GetString(value) : null;

    /// <summary>Sets <paramref name="name"/>.</summary>
    public void Set(string name, string value) => table.Put(name, Encoding.UTF8.GetBytes(value));
}
