using System.Globalization;

namespace Sentinel.Features.Changes;

/// <summary>
/// A time filter of the change feed as typed in a query string: a date (yyyy-MM-dd, the start of that UTC day; as an
/// upper bound the whole day is included) or a full ISO 8601 instant. The list and the per-day counts share it.
/// </summary>
public static class ChangeTime
{
    public static string Rule(string field) => $"{field} must be a date (yyyy-MM-dd) or an ISO 8601 time";

    public static bool IsValid(string? text) => string.IsNullOrWhiteSpace(text) || TryParse(text, endOfDay: false, out _);

    /// <summary>Null when blank; the validators have rejected text that does not parse before a handler calls this.</summary>
    public static DateTimeOffset? Parse(string? text, bool endOfDay) =>
        !string.IsNullOrWhiteSpace(text) && TryParse(text, endOfDay, out var value) ? value : null;

    private static bool TryParse(string text, bool endOfDay, out DateTimeOffset value)
    {
        text = text.Trim();
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            value = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(endOfDay ? 1 : 0);
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
        {
            value = t.ToUniversalTime();
            return true;
        }
        value = default;
        return false;
    }
}
