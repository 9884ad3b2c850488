using FluentValidation;

namespace Sentinel.Features.Cron;

/// <summary>FluentValidation rules shared by the schedule slices: messages name the cron field at fault.</summary>
public static class CronRules
{
    public static IRuleBuilderOptionsConditions<T, string?> ValidCron<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((expr, ctx) =>
        {
            if (!CronSchedule.TryParse(expr, out _, out var error)) ctx.AddFailure(error!.Message);
        });

    public static IRuleBuilderOptions<T, string?> ValidTimeZone<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(tz => tz is null || ScheduleTimeZones.TryFind(tz, out _))
            .WithMessage("unknown time zone '{PropertyValue}'; expected an IANA id such as UTC or Europe/Berlin");

    /// <summary>The first occurrence strictly after <paramref name="after"/> (validated input: the cron can fire).</summary>
    public static DateTimeOffset? NextRunAt(string cronExpr, string timeZone, DateTimeOffset after) =>
        CronSchedule.Parse(cronExpr).Next(after, ScheduleTimeZones.Find(timeZone));
}
