using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.ControlPlane;

public sealed class ControlPlaneTests(WorkerApiFixture fixture) : IClassFixture<WorkerApiFixture>
{
    private static readonly string[] OperatorRole = ["Sentinel.Operator"];

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = JsonContent.Create(body);
        return await fixture.Client.SendAsync(request);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private async Task<Guid> NewJobAsync()
    {
        var jobId = Guid.NewGuid();
        await fixture.ScalarAsync<int>("INSERT INTO jobs (job_id, job_type, name) VALUES (@jobId, 'refresh_mv', 'api test') RETURNING 1", new { jobId });
        return jobId;
    }

    [Fact]
    public async Task Health_needs_no_token_and_reports_database_and_scheduler()
    {
        var response = await SendAsync(HttpMethod.Get, "/health", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("db").GetBoolean());
        var scheduler = body.GetProperty("scheduler");
        Assert.False(scheduler.GetProperty("alive").GetBoolean()); // SCHEDULER_ENABLED=false in this host
        Assert.True(scheduler.TryGetProperty("last_tick_at", out _));
    }

    public static TheoryData<string, string> Unauthorized => new()
    {
        { "none", "a bearer token is required" },
        { "expired", "expired" },
        { "wrong_audience", "wrong audience" },
        { "wrong_issuer", "wrong issuer" },
        { "bad_signature", "bad signature" },
        { "garbage", "not valid" },
        { "id_token", "not an access token" },
        { "wrong_azp", "another client (azp/appid)" },
        { "wrong_appid_v1", "another client (azp/appid)" },
        { "missing_scp", "lacks the delegated scope access_as_user" },
        { "other_scope", "lacks the delegated scope access_as_user" },
        { "v1_wrong_tenant", "wrong issuer" },
        { "app_only_other_app", "an app-only token (no delegated scope) is not accepted here" },
        { "app_only_v1_other_app", "an app-only token (no delegated scope) is not accepted here" },
        { "app_only_own_app", "an app-only token (no delegated scope) is not accepted here" },
    };

    [Theory]
    [MemberData(nameof(Unauthorized))]
    public async Task Rejects_missing_and_invalid_tokens_with_401_json(string kind, string why)
    {
        var token = kind switch
        {
            "none" => null,
            "expired" => fixture.Idp.Mint(OperatorRole, expiresIn: TimeSpan.FromMinutes(-10)),
            "wrong_audience" => fixture.Idp.Mint(OperatorRole, audience: "api://someone-else"),
            "wrong_issuer" => fixture.Idp.Mint(OperatorRole, issuer: "https://login.microsoftonline.com/evil/v2.0"),
            "bad_signature" => fixture.Idp.Mint(OperatorRole, badSignature: true),
            "id_token" => fixture.Idp.Mint(OperatorRole, idToken: true),
            "wrong_azp" => fixture.Idp.Mint(OperatorRole, client: "99999999-0000-0000-0000-000000000000"),
            "wrong_appid_v1" => fixture.Idp.Mint(OperatorRole, version: 1, client: "99999999-0000-0000-0000-000000000000"),
            "missing_scp" => fixture.Idp.Mint(OperatorRole, scope: null),
            "other_scope" => fixture.Idp.Mint(OperatorRole, scope: "User.Read"),
            "v1_wrong_tenant" => fixture.Idp.Mint(OperatorRole, version: 1, issuer: "https://sts.windows.net/99999999-2222-3333-4444-555555555555/"),
            // The control plane is delegated-only: an app holding Sentinel.Operator (the web's /api would accept it) is still refused.
            "app_only_other_app" => fixture.Idp.Mint(OperatorRole, appOnly: true, client: "5a1e0c7d-1b2c-4d3e-8f40-5162738495a2", oid: "0c4f7a10-2222-4a2b-9c3d-4e5f60718292"),
            "app_only_v1_other_app" => fixture.Idp.Mint(["Sentinel.Admin"], appOnly: true, version: 1, client: "5a1e0c7d-1b2c-4d3e-8f40-5162738495a2", oid: "0c4f7a10-2222-4a2b-9c3d-4e5f60718292"),
            "app_only_own_app" => fixture.Idp.Mint(OperatorRole, appOnly: true, oid: "0c4f7a10-2222-4a2b-9c3d-4e5f60718299"),
            _ => "not.a.jwt",
        };

        var response = await SendAsync(HttpMethod.Get, "/jobs/status", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("unauthorized", body.GetProperty("code").GetString());
        Assert.Contains(why, body.GetProperty("error").GetString());
    }

    public static TheoryData<int, string> AcceptedVersions => new()
    {
        { 1, $"api://{TestIdentityProvider.ClientId}" },   // v1: iss https://sts.windows.net/{tid}/, appid, aud = the App ID URI requested
        { 1, TestIdentityProvider.ClientId },
        { 2, TestIdentityProvider.ClientId },              // v2: iss {instance}{tid}/v2.0, azp, aud = the client id
        { 2, $"api://{TestIdentityProvider.ClientId}" },
    };

    [Theory]
    [MemberData(nameof(AcceptedVersions))]
    public async Task V1_and_v2_access_tokens_of_the_tenant_are_accepted(int version, string audience)
    {
        var response = await SendAsync(HttpMethod.Get, "/jobs/status", fixture.Idp.Mint(OperatorRole, version: version, audience: audience));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await JsonAsync(response)).TryGetProperty("jobs", out _));
    }

    [Fact]
    public async Task A_reader_gets_403_and_changes_nothing()
    {
        var jobId = await NewJobAsync();
        var response = await SendAsync(HttpMethod.Post, "/jobs/pause", fixture.Idp.Mint(["Sentinel.Reader"]), new { job_id = jobId });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("forbidden", (await JsonAsync(response)).GetProperty("code").GetString());
        Assert.True(await fixture.ScalarAsync<bool>("SELECT enabled FROM jobs WHERE job_id = @jobId", new { jobId }));
    }

    [Fact]
    public async Task An_operator_sees_job_status_and_the_plain_client_id_audience_is_accepted_too()
    {
        var jobId = await NewJobAsync();
        var response = await SendAsync(HttpMethod.Get, "/jobs/status", fixture.Idp.Mint(OperatorRole, audience: TestIdentityProvider.ClientId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Contains(body.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("job_id").GetGuid() == jobId);
    }

    [Fact]
    public async Task Run_now_queues_with_202_returns_the_running_run_with_200_and_audits_the_actor()
    {
        var jobId = await NewJobAsync();
        var token = fixture.Idp.Mint(["Sentinel.Admin"], oid: "oid-admin-1", upn: "admin@contoso.onmicrosoft.com", name: "Ada Admin");

        var queued = await SendAsync(HttpMethod.Post, "/jobs/run-now", token, new { job_id = jobId, force = false });
        Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        var requestId = (await JsonAsync(queued)).GetProperty("request_id").GetGuid();
        Assert.Equal(("oid-admin-1", "admin@contoso.onmicrosoft.com", "Ada Admin"), (await fixture.QueryAsync<(string, string, string)>(
            "SELECT actor_oid, actor_upn, actor_name FROM job_run_requests WHERE request_id = @requestId", new { requestId })).Single());
        Assert.Equal(("oid-admin-1", "admin@contoso.onmicrosoft.com", "Ada Admin"), (await fixture.QueryAsync<(string, string, string)>(
            "SELECT actor_oid, actor_upn, actor_name FROM audit_events WHERE action = 'job.run_now' AND entity_id = @Id", new { Id = jobId.ToString() })).Single());

        var runId = Guid.NewGuid();
        await fixture.ScalarAsync<int>("""
            UPDATE job_run_requests SET status = 'claimed', run_id = @runId WHERE request_id = @requestId;
            INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, heartbeat_at) VALUES (@runId, @jobId, now(), 'running', 'run_now', now());
            SELECT 1
            """, new { runId, jobId, requestId });
        var running = await SendAsync(HttpMethod.Post, "/jobs/run-now", token, new { job_id = jobId });
        Assert.Equal(HttpStatusCode.OK, running.StatusCode);
        var body = await JsonAsync(running);
        Assert.Equal(runId, body.GetProperty("run_id").GetGuid());
        Assert.True(body.GetProperty("already_running").GetBoolean());

        var cancel = await SendAsync(HttpMethod.Post, "/jobs/cancel", token, new { run_id = runId });
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("oid-admin-1", await fixture.ScalarAsync<string>(
            "SELECT actor_oid FROM audit_events WHERE action = 'run.cancel_requested' AND entity_id = @Id", new { Id = runId.ToString() }));
    }

    [Fact]
    public async Task Pause_and_resume_are_audited_with_the_actor_and_run_now_on_a_paused_job_is_409_without_force()
    {
        var jobId = await NewJobAsync();
        var token = fixture.Idp.Mint(OperatorRole, oid: "oid-op-2", upn: "operator@contoso.onmicrosoft.com", name: "Olga Operator");

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/jobs/pause", token, new { job_id = jobId })).StatusCode);
        var refused = await SendAsync(HttpMethod.Post, "/jobs/run-now", token, new { job_id = jobId });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var error = await JsonAsync(refused);
        Assert.Equal("job_paused", error.GetProperty("code").GetString());
        Assert.Contains("force", error.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(HttpMethod.Post, "/jobs/run-now", token, new { job_id = jobId, force = true })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/jobs/resume", token, new { job_id = jobId })).StatusCode);

        var audit = await fixture.QueryAsync<(string Action, string Oid, string Upn, string Name)>(
            "SELECT action, actor_oid, actor_upn, actor_name FROM audit_events WHERE entity_id = @Id ORDER BY occurred_at, action", new { Id = jobId.ToString() });
        Assert.Equal(["job.paused", "job.resumed", "job.run_now"], audit.Select(a => a.Action).Distinct().Order());
        Assert.All(audit, a => Assert.Equal(("oid-op-2", "operator@contoso.onmicrosoft.com", "Olga Operator"), (a.Oid, a.Upn, a.Name)));
    }

    [Fact]
    public async Task Bad_bodies_are_400_naming_the_field_and_unknown_ids_404()
    {
        var token = fixture.Idp.Mint(OperatorRole);

        var missing = await SendAsync(HttpMethod.Post, "/jobs/run-now", token, new { force = true });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("job_id is required", (await JsonAsync(missing)).GetProperty("details").GetProperty("job_id")[0].GetString());

        using var malformed = new HttpRequestMessage(HttpMethod.Post, "/jobs/pause") { Content = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json") };
        malformed.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.Client.SendAsync(malformed)).StatusCode);

        var unknown = await SendAsync(HttpMethod.Post, "/jobs/cancel", token, new { run_id = Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_worker_starts_and_serves_health_when_the_identity_provider_and_database_are_unreachable()
    {
        var unreachableDb = "Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2";
        await using var app = WorkerApiFixture.BuildWorker(unreachableDb, "https://127.0.0.1:1/", fixture.Idp.CaFile);
        await app.StartAsync();
        using var client = app.GetTestClient();

        var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.False((await JsonAsync(health)).GetProperty("db").GetBoolean());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/jobs/status");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Idp.Mint(OperatorRole));
        var status = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
        await app.StopAsync();
    }
}
