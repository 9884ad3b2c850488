using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Cron;

public sealed class PreviewScheduleTests
{
    private static readonly ManualTimeProvider Clock = new(new DateTimeOffset(2026, 3, 29, 0, 30, 0, TimeSpan.Zero));

    private static async Task<PreviewSchedule.Result> SendAsync(PreviewSchedule.Query query)
    {
        // No database needed: the data source in the container is never opened.
        await using var provider = SliceFixture.BuildProvider("Host=unused.invalid", HostRole.Web, Clock);
        using var scope = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.CreateScope(provider);
        var mediator = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<MediatR.IMediator>(scope.ServiceProvider);
        return await mediator.Send(query);
    }

    [Fact]
    public async Task Should_preview_five_runs_from_now_in_the_schedule_zone()
    {
        var result = await SendAsync(new PreviewSchedule.Query("30 2 * * *", "Europe/Berlin"));
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 0, 30, 0, TimeSpan.Zero), result.From);
        Assert.Equal(
            ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z", "2026-04-01T00:30:00Z", "2026-04-02T00:30:00Z"],
            result.Occurrences.Select(o => o.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'")));
    }

    [Fact]
    public async Task Should_reject_bad_cron_zone_and_count_together()
    {
        var error = await Assert.ThrowsAsync<RequestValidationException>(() =>
            SendAsync(new PreviewSchedule.Query("0 0 * * 9", "Mars/Base", Count: 0)));
        Assert.Contains("day_of_week", Assert.Single(error.Errors["cron_expr"]));
        Assert.Contains("Mars/Base", Assert.Single(error.Errors["time_zone"]));
        Assert.Contains("between 1 and 100", Assert.Single(error.Errors["count"]));
    }
}
