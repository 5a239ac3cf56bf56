namespace Pigeon.Grains.Abstractions.Mailboxes;

/// <summary>The key of a device's mailbox grain: its account id and device id (issue 16).</summary>
public static class MailboxKeys
{
    /// <summary>The mailbox of device <paramref name="deviceId"/> of <paramref name="accountId"/>: <c>&lt;account id&gt;.&lt;device id&gt;</c>.</summary>
    public static string Of(string accountId, uint deviceId)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{accountId}.{deviceId}");
    }
}
