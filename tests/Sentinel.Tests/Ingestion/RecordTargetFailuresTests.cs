using Sentinel.Features.Ingestion;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Ingestion;

/// <summary>The per-target failure record: consecutive failures survive across runs, a success clears them.</summary>
public sealed class RecordTargetFailuresTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    [Fact]
    public async Task Should_count_consecutive_failures_once_per_run_and_clear_them_when_the_target_succeeds()
    {
        async Task<RecordTargetFailures.Result> RunAsync(Action<TargetFailures> report)
        {
            var run = new IngestRun(fixture.Clock.GetUtcNow()) { RunId = Guid.NewGuid() };
            await fixture.SendAsync(new RecordTargetFailures.Command(run));
            report(run.Failures);
            await fixture.SendAsync(new RecordTargetFailures.Command(run));
            // A second phase reporting the same target in the same run does not count it twice.
            report(run.Failures);
            return await fixture.SendAsync(new RecordTargetFailures.Command(run));
        }

        var first = await RunAsync(f =>
        {
            f.Failed(TargetFailures.Drive, "drive-a", "http_403_accessDenied", "Graph answered HTTP 403", "Finance");
            f.Failed(TargetFailures.SiteDrives, "site-b", "http_423_resourceLocked");
            f.Succeeded(TargetFailures.Drive, "drive-c");
        });
        Assert.Equal(["drive/drive-a/1", "site_drives/site-b/1"], first.Failed.Select(f => $"{f.TargetType}/{f.TargetId}/{f.ConsecutiveFailures}"));
        Assert.Equal("Finance", first.Failed[0].TargetName);

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var second = await RunAsync(f =>
        {
            f.Failed(TargetFailures.Drive, "drive-a", "http_403_accessDenied");
            f.Succeeded(TargetFailures.SiteDrives, "site-b");
        });
        Assert.Equal(["drive/drive-a/2"], second.Failed.Select(f => $"{f.TargetType}/{f.TargetId}/{f.ConsecutiveFailures}"));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM ingest_target_failures WHERE target_id = 'site-b'"));
        Assert.Equal("Finance", await fixture.ScalarAsync<string>("SELECT target_name FROM ingest_target_failures WHERE target_id = 'drive-a'"));

        var reason = GraphIngestExecutor.PartialReason(second.Failed);
        Assert.Equal("targets_not_ingested: 1 target not ingested: drive ×1 (http_403_accessDenied)", reason);
        Assert.Null(GraphIngestExecutor.PartialReason([]));
    }
}
