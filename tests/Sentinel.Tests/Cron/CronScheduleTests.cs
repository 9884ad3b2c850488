using System.Globalization;
using Sentinel.Features.Cron;

namespace Sentinel.Tests.Cron;

public sealed class CronScheduleTests
{
    private static DateTimeOffset At(string iso) =>
        DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string[] Next(string expr, string tz, string from, int count) =>
        CronSchedule.Parse(expr).Next(At(from), ScheduleTimeZones.Find(tz), count)
            .Select(o => o.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture))
            .ToArray();

    [Theory]
    // steps, ranges, lists
    [InlineData("*/15 * * * *", "UTC", "2026-01-15T09:31:00Z", "2026-01-15T09:45Z 2026-01-15T10:00Z 2026-01-15T10:15Z")]
    [InlineData("5-20/5 8-10 * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-15T10:05Z 2026-01-15T10:10Z 2026-01-15T10:15Z 2026-01-15T10:20Z 2026-01-16T08:05Z")]
    [InlineData("10/20 * * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-15T09:50Z 2026-01-15T10:10Z 2026-01-15T10:30Z")]
    [InlineData("0,30 9 * * *", "UTC", "2026-01-15T09:00:00Z", "2026-01-15T09:30Z 2026-01-16T09:00Z")]
    // a step larger than the field's range keeps only the range's first value (Vixie cron, cronie, ISC cron)
    [InlineData("*/60 * * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-15T10:00Z 2026-01-15T11:00Z")]
    [InlineData("5/100 * * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-15T10:05Z 2026-01-15T11:05Z")]
    [InlineData("1/2147483647 * * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-15T10:01Z 2026-01-15T11:01Z")]
    [InlineData("0 */24 * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-16T00:00Z 2026-01-17T00:00Z")]
    [InlineData("0 6-8/30 * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-16T06:00Z 2026-01-17T06:00Z")]
    [InlineData("0 0 */40 * *", "UTC", "2026-01-15T09:30:00Z", "2026-02-01T00:00Z 2026-03-01T00:00Z")]
    [InlineData("0 0 10-20/31 * *", "UTC", "2026-01-15T09:30:00Z", "2026-02-10T00:00Z 2026-03-10T00:00Z")]
    [InlineData("0 0 1 */15 *", "UTC", "2026-01-15T09:30:00Z", "2027-01-01T00:00Z 2028-01-01T00:00Z")]
    [InlineData("0 0 1 mar/12 *", "UTC", "2026-01-15T09:30:00Z", "2026-03-01T00:00Z 2027-03-01T00:00Z")]
    [InlineData("0 12 * * */10", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T12:00Z 2026-01-11T12:00Z")]
    [InlineData("0 12 * * 1-5/7", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T12:00Z 2026-01-12T12:00Z")]
    // occurrences are strictly after `from`
    [InlineData("30 9 * * *", "UTC", "2026-01-15T09:30:00Z", "2026-01-16T09:30Z")]
    [InlineData("30 9 * * *", "UTC", "2026-01-15T09:29:59Z", "2026-01-15T09:30Z")]
    // day rule: both restricted → either matches (the 15th OR a Friday)
    [InlineData("0 0 15 * 5", "UTC", "2026-02-01T00:00:00Z", "2026-02-06T00:00Z 2026-02-13T00:00Z 2026-02-15T00:00Z 2026-02-20T00:00Z")]
    [InlineData("0 0 1 * mon", "UTC", "2025-12-31T00:00:00Z", "2026-01-01T00:00Z 2026-01-05T00:00Z 2026-01-12T00:00Z 2026-01-19T00:00Z 2026-01-26T00:00Z 2026-02-01T00:00Z")]
    // a field starting with * is unrestricted, so the days must match both: odd days that are Mondays
    [InlineData("0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00Z 2026-01-19T00:00Z 2026-02-09T00:00Z 2026-02-23T00:00Z")]
    [InlineData("0 0 */10 * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-11T00:00Z 2026-01-21T00:00Z 2026-01-31T00:00Z 2026-02-01T00:00Z")]
    [InlineData("0 0 * * */3", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T00:00Z 2026-01-04T00:00Z 2026-01-07T00:00Z 2026-01-10T00:00Z")]
    // Sunday is 0, 7 and SUN
    [InlineData("0 12 * * 0", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T12:00Z 2026-01-11T12:00Z")]
    [InlineData("0 12 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T12:00Z 2026-01-11T12:00Z")]
    [InlineData("0 12 * * Sun", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T12:00Z 2026-01-11T12:00Z")]
    [InlineData("0 12 * * 5-7", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T12:00Z 2026-01-03T12:00Z 2026-01-04T12:00Z 2026-01-09T12:00Z")]
    // names
    [InlineData("0 9 * jan,JUL mon-fri", "UTC", "2026-06-30T00:00:00Z", "2026-07-01T09:00Z 2026-07-02T09:00Z 2026-07-03T09:00Z 2026-07-06T09:00Z")]
    [InlineData("0 0 1 jun-aug *", "UTC", "2026-01-01T00:00:00Z", "2026-06-01T00:00Z 2026-07-01T00:00Z 2026-08-01T00:00Z 2027-06-01T00:00Z")]
    // macros
    [InlineData("@hourly", "UTC", "2026-01-15T09:30:00Z", "2026-01-15T10:00Z 2026-01-15T11:00Z")]
    [InlineData("@daily", "UTC", "2026-01-15T09:30:00Z", "2026-01-16T00:00Z 2026-01-17T00:00Z")]
    [InlineData("@midnight", "UTC", "2026-01-15T09:30:00Z", "2026-01-16T00:00Z")]
    [InlineData("@weekly", "UTC", "2026-01-15T09:30:00Z", "2026-01-18T00:00Z 2026-01-25T00:00Z")]
    [InlineData("@monthly", "UTC", "2026-01-15T09:30:00Z", "2026-02-01T00:00Z 2026-03-01T00:00Z")]
    [InlineData("@yearly", "UTC", "2026-01-15T09:30:00Z", "2027-01-01T00:00Z")]
    [InlineData("@annually", "UTC", "2026-01-15T09:30:00Z", "2027-01-01T00:00Z")]
    // leap years and month ends
    [InlineData("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00Z 2032-02-29T00:00Z")]
    [InlineData("0 0 31 * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-31T00:00Z 2026-03-31T00:00Z 2026-05-31T00:00Z 2026-07-31T00:00Z 2026-08-31T00:00Z")]
    [InlineData("0 0 30 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-30T00:00Z")]
    // time zones: computed in the zone, stored as UTC
    [InlineData("0 9 * * *", "Europe/Berlin", "2026-01-15T00:00:00Z", "2026-01-15T08:00Z 2026-01-16T08:00Z")]
    [InlineData("0 9 * * *", "Europe/Berlin", "2026-07-15T00:00:00Z", "2026-07-15T07:00Z")]
    [InlineData("0 0 * * *", "Asia/Kolkata", "2026-01-15T00:00:00Z", "2026-01-15T18:30Z")]
    // DST gap (spring forward): a wall time that does not exist fires once, at the first instant after the gap
    [InlineData("30 2 * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29T01:00Z 2026-03-30T00:30Z")]
    [InlineData("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T00:30Z 2026-03-29T01:00Z 2026-03-29T01:30Z")]
    [InlineData("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00Z 2026-03-09T06:30Z")]
    // DST overlap (fall back): a wall time that occurs twice fires once, at its first occurrence
    [InlineData("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30Z 2026-10-26T01:30Z")]
    [InlineData("*/30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T00:30Z 2026-10-25T02:00Z 2026-10-25T02:30Z")]
    [InlineData("15 2 * * *", "Europe/Berlin", "2026-10-25T01:00:00Z", "2026-10-26T01:15Z")]
    [InlineData("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30Z 2026-11-02T06:30Z")]
    public void Should_compute_next_occurrences(string expr, string tz, string from, string expected)
    {
        var wanted = expected.Split(' ');
        Assert.Equal(wanted, Next(expr, tz, from, wanted.Length));
    }

    [Theory]
    [InlineData(0, DayOfWeek.Sunday)]
    [InlineData(1, DayOfWeek.Monday)]
    [InlineData(2, DayOfWeek.Tuesday)]
    [InlineData(3, DayOfWeek.Wednesday)]
    [InlineData(4, DayOfWeek.Thursday)]
    [InlineData(5, DayOfWeek.Friday)]
    [InlineData(6, DayOfWeek.Saturday)]
    [InlineData(7, DayOfWeek.Sunday)]
    public void Should_translate_cron_day_numbers_to_weekdays(int cronDay, DayOfWeek expected)
    {
        var occurrences = CronSchedule.Parse($"0 0 * * {cronDay}").Next(At("2026-01-01T00:00:00Z"), TimeZoneInfo.Utc, 3);
        Assert.All(occurrences, o => Assert.Equal(expected, o.DayOfWeek));
        Assert.Equal(TimeSpan.FromDays(7), occurrences[1] - occurrences[0]);
    }

    [Theory]
    [InlineData("", "expression", "empty")]
    [InlineData("* * * *", "expression", "expected 5 fields")]
    [InlineData("0 * * * * *", "expression", "expected 5 fields")]
    [InlineData("@reboot", "expression", "unknown macro")]
    [InlineData("60 * * * *", "minute", "out of range 0-59")]
    [InlineData("*/0 * * * *", "minute", "step")]
    [InlineData("* */0 * * *", "hour", "step")]
    [InlineData("* * 1-31/0 * *", "day_of_month", "step")]
    [InlineData("* * * */0 *", "month", "step")]
    [InlineData("* * * * mon/0", "day_of_week", "step")]
    [InlineData("*/-1 * * * *", "minute", "at least 1")]
    [InlineData("*/ * * * *", "minute", "at least 1")]
    [InlineData("5-1 * * * *", "minute", "backwards")]
    [InlineData("1,,2 * * * *", "minute", "empty list item")]
    [InlineData("* 24 * * *", "hour", "out of range 0-23")]
    [InlineData("* * 0 * *", "day_of_month", "out of range 1-31")]
    [InlineData("* * 32 * *", "day_of_month", "out of range 1-31")]
    [InlineData("* * ? * *", "day_of_month", "'?' is not supported")]
    [InlineData("* * L * *", "day_of_month", "'L' is not supported")]
    [InlineData("* * 15W * *", "day_of_month", "'W' is not supported")]
    [InlineData("0 0 30 2 *", "day_of_month", "never")]
    [InlineData("* * * 13 *", "month", "out of range 1-12")]
    [InlineData("* * * foo *", "month", "not a number from 1 to 12 or a name")]
    [InlineData("* * * * 8", "day_of_week", "out of range 0-7")]
    [InlineData("* * * * 1#2", "day_of_week", "'#' is not supported")]
    [InlineData("* * * * 5L", "day_of_week", "'L' is not supported")]
    [InlineData("* * * * ?", "day_of_week", "'?' is not supported")]
    public void Should_reject_non_standard_expressions_naming_the_field(string expr, string field, string message)
    {
        var error = Assert.Throws<CronFormatException>(() => CronSchedule.Parse(expr));
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
        Assert.StartsWith(field + ":", error.Message);
    }

    [Theory]
    [InlineData("UTC", true)]
    [InlineData("Europe/Berlin", true)]
    [InlineData("America/New_York", true)]
    [InlineData("Mars/Olympus_Mons", false)]
    [InlineData("W. Europe Standard Time", false)]
    [InlineData("", false)]
    public void Should_accept_only_iana_time_zones(string id, bool known)
    {
        Assert.Equal(known, ScheduleTimeZones.TryFind(id, out _));
    }
}
