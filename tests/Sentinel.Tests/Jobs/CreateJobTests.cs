using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Jobs;

public sealed class CreateJobTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static readonly Actor Admin = new("00000000-0000-0000-0000-0000000000a1", "admin@contoso.test", "Ada Admin");

    [Fact]
    public async Task Should_create_a_job_and_audit_it()
    {
        var job = await fixture.SendAsync(new CreateJob.Command(JobTypes.RefreshMv, """{"force":true}""", true, "Refresh views", Admin));

        var audit = await fixture.QueryAsync<(string Action, string ActorUpn, string Details)>(
            "SELECT action, actor_upn, details::text FROM audit_events WHERE entity_id = @Id", new { Id = job.JobId.ToString() });
        Snapshot.Match(new { job, audit = audit.Select(a => new { a.Action, a.ActorUpn, a.Details }) });
    }

    [Fact]
    public async Task Should_reject_unknown_type_and_non_object_config_together_and_write_nothing()
    {
        var before = await fixture.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var error = await Assert.ThrowsAsync<RequestValidationException>(() =>
            fixture.SendAsync(new CreateJob.Command("mine_bitcoin", "[1,2]", true, null, Admin)));

        Assert.Contains("unknown job_type 'mine_bitcoin'", Assert.Single(error.Errors["job_type"]));
        Assert.Contains("must be a JSON object", Assert.Single(error.Errors["config"]));
        Assert.Equal(before, await fixture.ScalarAsync<long>("SELECT count(*) FROM jobs"));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'job.created' AND details->>'job_type' = 'mine_bitcoin'"));
    }

    [Fact]
    public async Task Should_reject_malformed_config_json()
    {
        var error = await Assert.ThrowsAsync<RequestValidationException>(() =>
            fixture.SendAsync(new CreateJob.Command(JobTypes.GraphIngest, "{not json", true, null, Admin)));
        Assert.Contains("not valid JSON", Assert.Single(error.Errors["config"]));
    }
}
