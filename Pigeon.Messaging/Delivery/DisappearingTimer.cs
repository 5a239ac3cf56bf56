using System.Globalization;

namespace Pigeon.Messaging.Delivery;

/// <summary>
/// A conversation's disappearing-message timer: how long each message is kept, on both sides, after
/// it was sent (by the sender) or received (by the recipient). Off is null.
/// </summary>
public static class DisappearingTimer
{
    /// <summary>The longest timer a message may carry: a week, inside the server's envelope lifetime (a test holds it so).</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(7);

    /// <summary>The settings the CLI offers, by name.</summary>
    public static IReadOnlyDictionary<string, TimeSpan?> Choices { get; } = new Dictionary<string, TimeSpan?>(StringComparer.OrdinalIgnoreCase)
    {
        ["1h"] = TimeSpan.FromHours(1),
        ["1d"] = TimeSpan.FromDays(1),
        ["1w"] = TimeSpan.FromDays(7),
        ["off"] = null,
    };

    /// <summary>True for off and for a whole number of seconds from one second to <see cref="Longest"/>.</summary>
    public static bool IsValid(TimeSpan? timer) =>
        timer is not { } value || (value >= TimeSpan.FromSeconds(1) && value <= Longest && value.Ticks % TimeSpan.TicksPerSecond == 0);

    /// <summary>A timer for people: <c>1h</c>, <c>1d</c>, <c>1w</c>, <c>off</c>, or a count of hours, minutes or seconds.</summary>
    public static string Format(TimeSpan? timer) => timer switch
    {
        null => "off",
        { } t when t.Ticks % TimeSpan.TicksPerDay == 0 && t.Days % 7 == 0 => $"{(t.Days / 7).ToString(CultureInfo.InvariantCulture)}w",
        { } t when t.Ticks % TimeSpan.TicksPerDay == 0 => $"{t.Days.ToString(CultureInfo.InvariantCulture)}d",
        { } t when t.Ticks % TimeSpan.TicksPerHour == 0 => $"{((long)t.TotalHours).ToString(CultureInfo.InvariantCulture)}h",
        { } t when t.Ticks % TimeSpan.TicksPerMinute == 0 => $"{((long)t.TotalMinutes).ToString(CultureInfo.InvariantCulture)}m",
        { } t => $"{((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture)}s",
    };
}
