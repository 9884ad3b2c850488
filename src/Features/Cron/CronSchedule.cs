using System.Globalization;
using Quartz;

namespace Sentinel.Features.Cron;

/// <summary>
/// Standard 5-field cron (minute hour day-of-month month day-of-week, minute resolution) evaluated in an IANA
/// time zone, on top of Quartz's <see cref="CronExpression"/>.
/// <list type="bullet">
/// <item>Each field is parsed and range-checked here (so errors name the field), expanded to its value set and
/// handed to Quartz as explicit lists; cron's Sunday 0/7 becomes Quartz's 1 (Quartz numbers Sun..Sat as 1..7).</item>
/// <item>Day rule of Vixie cron / cronie: if both day fields are restricted (neither starts with <c>*</c>) a day
/// matches when EITHER matches; otherwise both must match. Quartz needs <c>?</c> in one day field, so the OR is
/// two expressions (earliest wins) and the AND is one expression plus a day-of-week filter.</item>
/// <item>Quartz runs on wall-clock time (treated as UTC), and each wall time is mapped to an instant here: a
/// wall time inside a DST gap fires at the first instant after the gap; an ambiguous one at its first
/// occurrence; the second pass of a repeated hour never fires.</item>
/// </list>
/// </summary>
public sealed class CronSchedule
{
    public static readonly IReadOnlyDictionary<string, string> Macros = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["@hourly"] = "0 * * * *",
        ["@daily"] = "0 0 * * *",
        ["@midnight"] = "0 0 * * *",
        ["@weekly"] = "0 0 * * 0",
        ["@monthly"] = "0 0 1 * *",
        ["@yearly"] = "0 0 1 1 *",
        ["@annually"] = "0 0 1 1 *",
    };

    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly int[] MaxDays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private sealed record FieldSpec(string Name, int Min, int Max, string[]? Names, int NameBase);

    private static readonly FieldSpec Minute = new("minute", 0, 59, null, 0);
    private static readonly FieldSpec Hour = new("hour", 0, 23, null, 0);
    private static readonly FieldSpec DayOfMonth = new("day_of_month", 1, 31, null, 0);
    private static readonly FieldSpec Month = new("month", 1, 12, MonthNames, 1);
    private static readonly FieldSpec DayOfWeek = new("day_of_week", 0, 7, DayNames, 0);

    /// <summary>AND searches skip whole days; a bound keeps impossible combinations (e.g. 31 Feb) finite.</summary>
    private static readonly TimeSpan SearchHorizon = TimeSpan.FromDays(366 * 9);

    private readonly CronExpression? _byDayOfMonth;
    private readonly CronExpression? _byDayOfWeek;
    private readonly bool[]? _dayOfWeekFilter;

    public string Expression { get; }

    private CronSchedule(string expression, CronExpression? byDayOfMonth, CronExpression? byDayOfWeek, bool[]? dayOfWeekFilter)
    {
        Expression = expression;
        _byDayOfMonth = byDayOfMonth;
        _byDayOfWeek = byDayOfWeek;
        _dayOfWeekFilter = dayOfWeekFilter;
    }

    /// <summary>Parses a 5-field expression or macro; throws <see cref="CronFormatException"/> naming the field.</summary>
    public static CronSchedule Parse(string? expression)
    {
        if (string.IsNullOrWhiteSpace(expression))
            throw new CronFormatException("expression", "is empty; expected 5 fields: minute hour day-of-month month day-of-week");
        var text = expression.Trim();
        if (text.StartsWith('@'))
        {
            if (!Macros.TryGetValue(text, out var expanded))
                throw new CronFormatException("expression", $"unknown macro '{text}'; expected one of {string.Join(", ", Macros.Keys)}");
            text = expanded;
        }

        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
            throw new CronFormatException("expression",
                $"expected 5 fields (minute hour day-of-month month day-of-week), got {fields.Length}");

        var minutes = ParseField(fields[0], Minute);
        var hours = ParseField(fields[1], Hour);
        var doms = ParseField(fields[2], DayOfMonth);
        var months = ParseField(fields[3], Month);
        var dows = ParseField(fields[4], DayOfWeek);
        // 7 is Sunday as well as 0.
        if (dows[7]) dows[0] = true;
        dows = dows[..7];

        var domRestricted = !fields[2].StartsWith('*');
        var dowRestricted = !fields[4].StartsWith('*');
        var allDoms = doms.Skip(1).All(b => b);
        var allDows = dows.All(b => b);

        if (!(domRestricted && dowRestricted) && !Enumerable.Range(1, 12).Any(m => months[m] && Enumerable.Range(1, MaxDays[m - 1]).Any(d => doms[d])))
            throw new CronFormatException("day_of_month", $"'{fields[2]}' never occurs in month '{fields[3]}', so the schedule would never fire");

        var head = $"0 {List(minutes)} {List(hours)}";
        var month = List(months);
        CronExpression ByDom() => Quartz($"{head} {List(doms)} {month} ?");
        CronExpression ByDow() => Quartz($"{head} ? {month} {string.Join(',', Enumerable.Range(0, 7).Where(d => dows[d]).Select(d => d + 1))}");

        if (domRestricted && dowRestricted)
            return new CronSchedule(expression.Trim(), ByDom(), ByDow(), null);
        if (allDoms)
            return new CronSchedule(expression.Trim(), null, ByDow(), null);
        return new CronSchedule(expression.Trim(), ByDom(), null, allDows ? null : dows);
    }

    public static bool TryParse(string? expression, out CronSchedule? schedule, out CronFormatException? error)
    {
        try
        {
            schedule = Parse(expression);
            error = null;
            return true;
        }
        catch (CronFormatException e)
        {
            schedule = null;
            error = e;
            return false;
        }
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when the expression never fires again.</summary>
    public DateTimeOffset? Next(DateTimeOffset after, TimeZoneInfo zone)
    {
        // Search wall-clock times in the zone; each candidate is mapped to an instant, and candidates that map
        // to an instant at or before `after` (second pass of a repeated hour, the rest of a DST gap) are skipped.
        var wall = DateTime.SpecifyKind(TimeZoneInfo.ConvertTime(after, zone).DateTime, DateTimeKind.Utc);
        var limit = wall + SearchHorizon;
        while (NextWall(wall, limit) is { } candidate)
        {
            var instant = ToInstant(candidate, zone);
            if (instant > after) return instant;
            wall = candidate;
        }
        return null;
    }

    /// <summary>The next <paramref name="count"/> occurrences strictly after <paramref name="after"/>.</summary>
    public IReadOnlyList<DateTimeOffset> Next(DateTimeOffset after, TimeZoneInfo zone, int count)
    {
        var result = new List<DateTimeOffset>(count);
        var from = after;
        while (result.Count < count && Next(from, zone) is { } next)
        {
            result.Add(next);
            from = next;
        }
        return result;
    }

    private DateTime? NextWall(DateTime wall, DateTime limit)
    {
        DateTime? best = null;
        if (_byDayOfMonth is not null)
        {
            var from = wall;
            while (After(_byDayOfMonth, from) is { } c && c <= limit)
            {
                if (_dayOfWeekFilter is null || _dayOfWeekFilter[(int)c.DayOfWeek])
                {
                    best = c;
                    break;
                }
                from = c.Date.AddDays(1).AddSeconds(-1);
            }
        }
        if (_byDayOfWeek is not null && After(_byDayOfWeek, wall) is { } d && d <= limit && (best is null || d < best))
            best = d;
        return best;
    }

    private static DateTime? After(CronExpression expression, DateTime wall) =>
        expression.GetTimeAfter(new DateTimeOffset(wall, TimeSpan.Zero))?.UtcDateTime;

    /// <summary>Maps a wall-clock time in <paramref name="zone"/> to an instant (DST rules in the class summary).</summary>
    internal static DateTimeOffset ToInstant(DateTime wallUtcKind, TimeZoneInfo zone)
    {
        var wall = DateTime.SpecifyKind(wallUtcKind, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(wall))
        {
            // Gaps are whole minutes in every real zone: the first valid minute is the instant the gap ends.
            var probe = wall;
            do probe = probe.AddMinutes(1); while (zone.IsInvalidTime(probe));
            return new DateTimeOffset(probe, zone.GetUtcOffset(probe)).ToUniversalTime();
        }
        if (zone.IsAmbiguousTime(wall))
        {
            var largest = zone.GetAmbiguousTimeOffsets(wall).Max();
            return new DateTimeOffset(wall, largest).ToUniversalTime();
        }
        return new DateTimeOffset(wall, zone.GetUtcOffset(wall)).ToUniversalTime();
    }

    private static CronExpression Quartz(string expression) =>
        new(expression) { TimeZone = TimeZoneInfo.Utc };

    private static string List(bool[] values) =>
        string.Join(',', Enumerable.Range(0, values.Length).Where(i => values[i]));

    private static bool[] ParseField(string text, FieldSpec spec)
    {
        var set = new bool[spec.Max + 1];
        foreach (var item in text.Split(','))
        {
            if (item.Length == 0)
                throw new CronFormatException(spec.Name, $"'{text}' has an empty list item");
            foreach (var c in item)
            {
                if (c is '?' or '#' or 'L' or 'W' or 'l' or 'w' && !IsNamePart(item, spec))
                    throw new CronFormatException(spec.Name, $"'{c}' is not supported in standard 5-field cron (in '{text}')");
            }

            var rangeAndStep = item.Split('/');
            if (rangeAndStep.Length > 2)
                throw new CronFormatException(spec.Name, $"'{item}' has more than one '/'");
            // Any step from 1 up, as Vixie cron, cronie and ISC cron accept: one larger than the range keeps only
            // the range's first value (`*/15` in month = January, `*/10` in day of week = Sunday).
            var step = 1;
            if (rangeAndStep.Length == 2 &&
                (!int.TryParse(rangeAndStep[1], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1))
                throw new CronFormatException(spec.Name, $"step '{rangeAndStep[1]}' in '{item}' must be a whole number of at least 1");

            int low, high;
            var range = rangeAndStep[0];
            if (range == "*")
            {
                low = spec.Min;
                high = spec.Name == DayOfWeek.Name ? 6 : spec.Max;
            }
            else
            {
                var bounds = range.Split('-');
                if (bounds.Length > 2)
                    throw new CronFormatException(spec.Name, $"'{item}' is not a value, a range a-b or '*'");
                low = Value(bounds[0], spec, item);
                high = bounds.Length == 2 ? Value(bounds[1], spec, item) : rangeAndStep.Length == 2 ? spec.Max : low;
                if (high < low)
                    throw new CronFormatException(spec.Name, $"range '{range}' runs backwards; write it from low to high");
            }
            for (long v = low; v <= high; v += step) set[v] = true;
        }
        return set;
    }

    private static bool IsNamePart(string item, FieldSpec spec) =>
        spec.Names is not null && item.Split(',', '-', '/').Any(p => spec.Names.Contains(p.ToUpperInvariant()));

    private static int Value(string token, FieldSpec spec, string item)
    {
        if (token.Length == 0)
            throw new CronFormatException(spec.Name, $"'{item}' is missing a value");
        if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            if (number < spec.Min || number > spec.Max)
                throw new CronFormatException(spec.Name, $"value {number} is out of range {spec.Min}-{spec.Max}");
            return number;
        }
        if (spec.Names is not null)
        {
            var index = Array.IndexOf(spec.Names, token.ToUpperInvariant());
            if (index >= 0) return index + spec.NameBase;
            throw new CronFormatException(spec.Name, $"'{token}' is not a number from {spec.Min} to {spec.Max} or a name ({string.Join(", ", spec.Names)})");
        }
        throw new CronFormatException(spec.Name, $"'{token}' is not a number from {spec.Min} to {spec.Max}");
    }
}

/// <summary>A cron expression problem; <see cref="Field"/> is minute, hour, day_of_month, month, day_of_week or expression.</summary>
public sealed class CronFormatException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}

/// <summary>IANA time zone lookup for schedules.</summary>
public static class ScheduleTimeZones
{
    public const string Default = "UTC";

    public static bool TryFind(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64) return false;
        if (id == Default) return true;
        // IANA ids only: Windows ids ("W. Europe Standard Time") would not round-trip to other tools.
        if (!id.Contains('/') && id is not ("Etc/UTC" or "GMT")) return false;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return zone.HasIanaId;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }

    public static TimeZoneInfo Find(string? id) =>
        TryFind(id ?? Default, out var zone) ? zone : throw new InvalidTimeZoneException($"unknown time zone '{id}'");
}
