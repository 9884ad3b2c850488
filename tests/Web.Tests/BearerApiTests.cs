using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Identity.Client;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Tests;

/// <summary>
/// /api/* also accepts Entra access tokens (the WebAuth bearer scheme): a delegated token of this app with the user's app
/// roles, and an app-only token of ANOTHER app registration of the tenant (a SIEM, a script) that holds a Sentinel app role.
/// Roles still gate each route; an app-only token without a Sentinel role, Sentinel's own client-credentials token (no role),
/// ID tokens and garbage are refused 401. Tokens come from the simulator through MSAL, as a script would get them.
/// </summary>
[Collection(SeededWebCollection.Name)]
public sealed class BearerApiTests(SeededWebFixture fx)
{
    private async Task<AuthenticationResult> UserTokenAsync(string upn)
    {
        var handler = TrustedHttp.CreateHandler(fx.Sim.CaFile);
        handler.AllowAutoRedirect = false;
        var http = new HttpClient(handler);
        var app = ConfidentialClientApplicationBuilder.Create(fx.Sim.ClientId).WithClientSecret(fx.Sim.ClientSecret)
            .WithOidcAuthority($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/v2.0").WithRedirectUri("https://localhost:5001/callback")
            .WithHttpClientFactory(new Factory(http)).Build();
        string[] scopes = [$"api://{fx.Sim.ClientId}/access_as_user"];
        var url = await app.GetAuthorizationRequestUrl(scopes).WithPkce(out var verifier).ExecuteAsync();
        var picker = await http.GetStringAsync(url);
        var fields = Regex.Matches(picker, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["login_hint"] = upn;
        using var picked = await http.PostAsync(new Uri(url.GetLeftPart(UriPartial.Path)), new FormUrlEncodedContent(fields));
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(picked.Headers.Location!.Query)["code"].ToString();
        return await app.AcquireTokenByAuthorizationCode(scopes, code).WithPkceCodeVerifier(verifier).ExecuteAsync();
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string token)
    {
        using var anon = fx.Anonymous();
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await anon.SendAsync(request);
    }

    [Fact]
    public async Task A_delegated_token_with_the_reader_role_reads_the_api_and_role_gates_still_apply()
    {
        var reader = await UserTokenAsync(WebFixture.Reader);
        using var ok = await GetAsync("/api/analytics", reader.AccessToken);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.DoesNotContain(ok.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith(".Sentinel.Session")));

        using var operatorOnly = await GetAsync("/api/graph/site-access?siteId=s1", reader.AccessToken);
        Assert.Equal(HttpStatusCode.Forbidden, operatorOnly.StatusCode);
        Assert.Equal("forbidden", JsonDocument.Parse(await operatorOnly.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_posture_api_answers_a_reader_token_and_refuses_no_token()
    {
        var reader = await UserTokenAsync(WebFixture.Reader);
        foreach (var path in new[] { "/api/posture", "/api/changes?limit=5", "/api/access?principal=u1" })
        {
            using var ok = await GetAsync(path, reader.AccessToken);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            using var anon = fx.Anonymous();
            using var refused = await anon.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    private Task<string> AppTokenAsync(string displayName, string scope = "api://{0}/.default") => AppTokens.ForAsync(fx.Sim, displayName, scope);

    private static JsonElement Payload(string jwt)
    {
        var p = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        return JsonDocument.Parse(Convert.FromBase64String(p.PadRight(p.Length + (4 - p.Length % 4) % 4, '='))).RootElement;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, object? body = null)
    {
        using var anon = fx.Anonymous();
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = System.Net.Http.Json.JsonContent.Create(body);
        return await anon.SendAsync(request);
    }

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task A_reader_app_reads_the_posture_api_with_its_own_client_credentials_and_role_gates_still_apply()
    {
        var siem = await AppTokenAsync("SIEM connector");
        Assert.Equal(["Sentinel.Reader"], Payload(siem).GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        foreach (var path in new[] { "/api/posture", "/api/changes?limit=5", "/api/access?principal=u1", "/api/runs" })
        {
            using var ok = await GetAsync(path, siem);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.DoesNotContain(ok.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith(".Sentinel.Session")));
        }
        Assert.True((await BodyAsync(await GetAsync("/api/posture", siem))).TryGetProperty("metrics", out _));

        using var operatorOnly = await GetAsync("/api/graph/site-access?siteId=s1", siem);
        Assert.Equal(HttpStatusCode.Forbidden, operatorOnly.StatusCode);
        Assert.Equal("forbidden", (await BodyAsync(operatorOnly)).GetProperty("code").GetString());
        using var adminOnly = await SendAsync(HttpMethod.Post, "/api/jobs", siem, new { job_type = "refresh_mv" });
        Assert.Equal(HttpStatusCode.Forbidden, adminOnly.StatusCode);
        Assert.Equal("forbidden", (await BodyAsync(adminOnly)).GetProperty("code").GetString());
        Assert.Equal(0, await fx.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE actor_upn = @upn", new { upn = $"app:{fx.Sim.ClientApps.Single(a => a.DisplayName == "SIEM connector").ClientId}" }));
    }

    [Fact]
    public async Task An_app_without_a_sentinel_role_and_sentinels_own_client_credentials_token_are_refused_with_401_naming_why()
    {
        var unassigned = await AppTokenAsync("Unassigned app");
        Assert.False(Payload(unassigned).TryGetProperty("roles", out _));   // Entra issues it anyway: the role is the gate
        var own = (await AppTokens.Msal(fx.Sim, fx.Sim.ClientId, fx.Sim.ClientSecret).AcquireTokenForClient([$"api://{fx.Sim.ClientId}/.default"]).ExecuteAsync()).AccessToken;

        foreach (var token in new[] { unassigned, own })
        {
            using var response = await GetAsync("/api/posture", token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = await BodyAsync(response);
            Assert.Equal("unauthorized", body.GetProperty("code").GetString());
            Assert.Contains("carries none of the app roles Sentinel.Reader, Sentinel.Operator, Sentinel.Admin", body.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Id_tokens_and_garbage_are_refused_with_401_json()
    {
        var idToken = (await UserTokenAsync(WebFixture.Admin)).IdToken;
        foreach (var (token, why) in new[] { (idToken, "not an access token"), ("not.a.jwt", "not valid") })
        {
            using var response = await GetAsync("/api/analytics", token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = await BodyAsync(response);
            Assert.Equal("unauthorized", body.GetProperty("code").GetString());
            Assert.Contains(why, body.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task An_operator_app_reaches_operator_routes_but_not_admin_ones()
    {
        var automation = await AppTokenAsync("Automation");
        using var live = await GetAsync("/api/graph/site-access?siteId=no-such-site", automation);
        Assert.NotEqual(HttpStatusCode.Unauthorized, live.StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, live.StatusCode);
        using var create = await SendAsync(HttpMethod.Post, "/api/jobs", automation, new { job_type = "refresh_mv" });
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
    }

    [Fact]
    public async Task An_admin_app_changes_jobs_without_antiforgery_and_the_audit_names_the_app()
    {
        var provisioning = fx.Sim.ClientApps.Single(a => a.DisplayName == "Provisioning");
        var token = await AppTokenAsync("Provisioning");
        var name = "app-created " + Guid.NewGuid().ToString("N")[..8];

        using var created = await SendAsync(HttpMethod.Post, "/api/jobs", token, new { job_type = "refresh_mv", name, enabled = false });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var jobId = (await BodyAsync(created)).GetProperty("job_id").GetGuid();
        using var deleted = await SendAsync(HttpMethod.Delete, $"/api/jobs/{jobId}", token);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);

        var rows = (await QueryAsync("SELECT action, actor_oid, actor_upn, actor_name FROM audit_events WHERE entity_id = @id ORDER BY occurred_at, action",
            new { id = jobId.ToString() })).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r =>
        {
            Assert.Equal(provisioning.ServicePrincipalId, (string)r.actor_oid);
            Assert.Equal($"app:{provisioning.ClientId}", (string)r.actor_upn);
        });
        // v1 tokens (the simulator's default manifest) carry app_displayname; v2 ones do not, and the app is named by its id.
        Assert.All(rows, r => Assert.Equal("Provisioning", (string)r.actor_name));

        // A cookie session still needs the antiforgery token for the same call: the exemption is for bearer requests only.
        var admin = await fx.SignInAsync(WebFixture.Admin);
        using var noCsrf = await admin.Http.PostAsync("/api/jobs", System.Net.Http.Json.JsonContent.Create(new { job_type = "refresh_mv" }));
        Assert.Equal(HttpStatusCode.BadRequest, noCsrf.StatusCode);
    }

    [Fact]
    public async Task V2_app_only_tokens_are_accepted_and_audited_by_client_id()
    {
        fx.Sim.RequestedAccessTokenVersion = 2;
        try
        {
            var token = await AppTokenAsync("Provisioning", "{0}/.default");
            var p = Payload(token);
            Assert.Equal("2.0", p.GetProperty("ver").GetString());
            Assert.Equal(fx.Sim.ClientId, p.GetProperty("aud").GetString());
            Assert.False(p.TryGetProperty("scp", out _));
            using var ok = await GetAsync("/api/posture", token);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

            var provisioning = fx.Sim.ClientApps.Single(a => a.DisplayName == "Provisioning");
            using var created = await SendAsync(HttpMethod.Post, "/api/jobs", token, new { job_type = "refresh_mv", name = "v2 app job", enabled = false });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var jobId = (await BodyAsync(created)).GetProperty("job_id").GetGuid();
            Assert.Equal($"app {provisioning.ClientId}",
                await fx.ScalarAsync<string>("SELECT actor_name FROM audit_events WHERE entity_id = @id AND action = 'job.created'", new { id = jobId.ToString() }));

            var unassigned = await AppTokenAsync("Unassigned app");
            using var refused = await GetAsync("/api/posture", unassigned);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        finally
        {
            fx.Sim.RequestedAccessTokenVersion = 1;
        }
    }

    [Fact]
    public async Task The_worker_client_answers_403_for_an_app_caller_without_asking_for_a_token()
    {
        var app = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
        [
            new("azp", "5a1e0c7d-1b2c-4d3e-8f40-5162738495a2"), new("idtyp", "app"), new("oid", "sp"), new("sub", "sp"), new("roles", "Sentinel.Operator"),
        ], "EntraBearer"));
        var reply = await fx.WebServices.GetRequiredService<Sentinel.Web.Auth.WorkerApiClient>().PostAsync(app, "/jobs/run-now", new { job_id = Guid.NewGuid() }, CancellationToken.None);
        Assert.Equal(403, reply.Status);
        Assert.Equal(Sentinel.Web.Auth.WorkerApiClient.AppCallerRefused, reply.Error);
    }

    private async Task<IEnumerable<dynamic>> QueryAsync(string sql, object args)
    {
        await using var c = new Npgsql.NpgsqlConnection(fx.ConnectionString);
        return await Dapper.SqlMapper.QueryAsync(c, sql, args);
    }

    private sealed class Factory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}
