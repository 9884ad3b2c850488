using Sentinel.Features.Setup;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Setup;

public sealed class SeedDefaultJobsTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    [Fact]
    public async Task Should_seed_an_ingest_and_a_refresh_job_once_even_when_workers_start_together()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => fixture.SendAsync(new SeedDefaultJobs.Command(TimeSpan.FromSeconds(20)))));
        Assert.Single(results, r => r.Seeded);

        var schedules = await fixture.QueryAsync<(string JobType, string CronExpr, DateTime NextRunAt, bool Enabled)>("""
            SELECT j.job_type, s.cron_expr, s.next_run_at, s.enabled FROM jobs j JOIN job_schedules s USING (job_id) ORDER BY j.job_type
            """);
        Snapshot.Match(schedules.Select(s => new { s.JobType, s.CronExpr, s.NextRunAt, s.Enabled }), keepDates: true);
        Assert.Equal(fixture.Clock.GetUtcNow().UtcDateTime.AddSeconds(20), schedules.Single(s => s.JobType == "graph_ingest").NextRunAt);

        await fixture.ExecuteAsync("DELETE FROM jobs");
        var again = await fixture.SendAsync(new SeedDefaultJobs.Command(TimeSpan.FromSeconds(20)));
        Assert.False(again.Seeded);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }
}
