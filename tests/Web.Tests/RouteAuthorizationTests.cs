using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Sentinel.Web.Tests;

/// <summary>
/// Every controller action and API route, for every kind of user: anonymous → sign-in redirect (pages) or 401 (API);
/// a role below the route's minimum → 403; the minimum role and above → allowed. A second test fails when a route is
/// added without a row here.
/// </summary>
[Collection(SeededWebCollection.Name)]
public sealed class RouteAuthorizationTests(SeededWebFixture fx)
{
    public enum Need { Public, SignedIn, Reader, Operator, Admin }

    private const string J = Seed.JobId;
    private const string R = Seed.RunId;
    private const string S = "33333333-0000-0000-0000-000000000001";

    /// <summary>(method, route template, a concrete path, minimum).</summary>
    public static readonly (string Method, string Template, string Path, Need Need)[] Routes =
    [
        ("GET", "healthz", "/healthz", Need.Public),
        ("GET", "account/signin", "/account/signin", Need.Public),
        ("GET", "account/signin-failed", "/account/signin-failed?reason=state", Need.Public),
        ("GET", "account/signed-out", "/account/signed-out", Need.Public),
        ("GET", "error/{code:int}", "/error/404", Need.Public),
        ("POST", "account/signout", "/account/signout", Need.SignedIn),
        ("GET", "", "/", Need.Reader),
        ("GET", "api/analytics", "/api/analytics", Need.Reader),
        ("GET", "dashboard/first-ingest", "/dashboard/first-ingest", Need.Reader),
        ("GET", "inventory", "/inventory", Need.Reader),
        ("GET", "inventory/users", "/inventory/users", Need.Reader),
        ("GET", "inventory/groups", "/inventory/groups", Need.Reader),
        ("GET", "inventory/groups/{id}", "/inventory/groups/g1", Need.Reader),
        ("GET", "inventory/sites", "/inventory/sites", Need.Reader),
        ("GET", "inventory/drives", "/inventory/drives", Need.Reader),
        ("GET", "inventory/items", "/inventory/items", Need.Reader),
        ("GET", "inventory/permissions", "/inventory/permissions", Need.Reader),
        ("GET", "inventory/items/{driveId}/{itemId}", "/inventory/items/d1/i1", Need.Reader),
        ("GET", "inventory/items/{driveId}/{itemId}/live", "/inventory/items/d1/i1/live", Need.Operator),
        ("GET", "api/graph/drive-item-permissions", "/api/graph/drive-item-permissions?driveId=d1&itemId=i1", Need.Operator),
        ("GET", "api/graph/drive-item-sharing", "/api/graph/drive-item-sharing?driveId=d1&itemId=i1", Need.Operator),
        ("GET", "api/graph/site-access", "/api/graph/site-access?siteId=s1", Need.Operator),
        ("GET", "jobs", "/jobs", Need.Reader),
        ("GET", "jobs/{jobId:guid}", $"/jobs/{J}", Need.Reader),
        ("GET", "jobs/preview", "/jobs/preview?CronExpr=0+*+*+*+*&TimeZone=UTC", Need.Reader),
        ("GET", "jobs/new", "/jobs/new", Need.Admin),
        ("POST", "jobs/new", "/jobs/new", Need.Admin),
        ("GET", "jobs/{jobId:guid}/edit", $"/jobs/{J}/edit", Need.Admin),
        ("POST", "jobs/{jobId:guid}/edit", $"/jobs/{J}/edit", Need.Admin),
        ("POST", "jobs/{jobId:guid}/delete", $"/jobs/{S}/delete", Need.Admin),
        ("POST", "jobs/{jobId:guid}/schedules", $"/jobs/{J}/schedules", Need.Admin),
        ("POST", "schedules/{scheduleId:guid}", $"/schedules/{S}", Need.Admin),
        ("POST", "schedules/{scheduleId:guid}/delete", $"/schedules/{S}/delete", Need.Admin),
        ("GET", "runs", "/runs", Need.Reader),
        ("GET", "runs/{runId:guid}", $"/runs/{R}", Need.Reader),
        ("GET", "runs/{runId:guid}/progress", $"/runs/{R}/progress", Need.Reader),
        ("GET", "admin", "/admin", Need.Operator),
        ("GET", "admin/worker-health", "/admin/worker-health", Need.Operator),
        ("POST", "admin/jobs/{jobId:guid}/run-now", $"/admin/jobs/{J}/run-now", Need.Operator),
        ("POST", "admin/jobs/{jobId:guid}/pause", $"/admin/jobs/{J}/pause", Need.Operator),
        ("POST", "admin/jobs/{jobId:guid}/resume", $"/admin/jobs/{J}/resume", Need.Operator),
        ("POST", "admin/runs/{runId:guid}/cancel", $"/admin/runs/{R}/cancel", Need.Operator),
        ("GET", "audit", "/audit", Need.Admin),
        ("GET", "api/jobs", "/api/jobs", Need.Reader),
        ("GET", "api/jobs/{jobId:guid}", $"/api/jobs/{J}", Need.Reader),
        ("POST", "api/jobs", "/api/jobs", Need.Admin),
        ("PUT", "api/jobs/{jobId:guid}", $"/api/jobs/{S}", Need.Admin),
        ("DELETE", "api/jobs/{jobId:guid}", $"/api/jobs/{S}", Need.Admin),
        ("GET", "api/schedules", "/api/schedules", Need.Reader),
        ("GET", "api/schedules/preview", "/api/schedules/preview?cron_expr=0+*+*+*+*", Need.Reader),
        ("POST", "api/schedules", "/api/schedules", Need.Admin),
        ("PUT", "api/schedules/{scheduleId:guid}", $"/api/schedules/{S}", Need.Admin),
        ("DELETE", "api/schedules/{scheduleId:guid}", $"/api/schedules/{S}", Need.Admin),
        ("GET", "api/runs", "/api/runs", Need.Reader),
        ("GET", "api/runs/{runId:guid}", $"/api/runs/{R}", Need.Reader),
        ("GET", "changes", "/changes", Need.Reader),
        ("POST", "changes/review", "/changes/review", Need.Operator),
        ("GET", "access", "/access?principal=u1", Need.Reader),
        ("GET", "access/departing", "/access/departing?user=u1", Need.Reader),
        ("GET", "api/posture", "/api/posture", Need.Reader),
        ("GET", "api/changes", "/api/changes", Need.Reader),
        ("GET", "api/access", "/api/access?principal=u1", Need.Reader),
    ];

    [Fact]
    public void Every_mapped_route_has_an_authorization_expectation()
    {
        var mapped = fx.WebServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} {e.RoutePattern.RawText!.Trim('/')}"))
            .ToHashSet();
        var covered = Routes.Select(r => $"{r.Method} {r.Template}").ToHashSet();
        Assert.Empty(mapped.Except(covered).Order());
        Assert.Empty(covered.Except(mapped).Order());
    }

    [Fact]
    public async Task Anonymous_requests_are_sent_to_sign_in_or_refused_with_401()
    {
        using var anon = fx.Anonymous();
        foreach (var route in Routes.Where(r => r.Need != Need.Public))
        {
            using var response = await anon.SendAsync(new HttpRequestMessage(new HttpMethod(route.Method), route.Path));
            if (route.Path.StartsWith("/api/"))
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{route.Method} {route.Path} → {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            else if (route.Method == "GET")
            {
                Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{route.Method} {route.Path} → {(int)response.StatusCode}");
                Assert.Contains("/account/signin", response.Headers.Location!.ToString());
            }
            else
                Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{route.Method} {route.Path} → {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData(WebFixture.NoRole, Need.SignedIn)]
    [InlineData(WebFixture.Reader, Need.Reader)]
    [InlineData(WebFixture.Operator, Need.Operator)]
    [InlineData(WebFixture.Admin, Need.Admin)]
    public async Task Each_role_reaches_exactly_the_routes_its_level_allows(string upn, Need level)
    {
        var user = await fx.SignInAsync(upn);
        var token = await user.CsrfTokenAsync(level >= Need.Reader ? "/jobs" : "/");
        var failures = new List<string>();
        foreach (var route in Routes.Where(r => r.Need != Need.Public && r.Path != "/account/signout"))
        {
            var request = new HttpRequestMessage(new HttpMethod(route.Method), route.Path);
            if (route.Method != "GET")
            {
                request.Headers.Add("X-CSRF-TOKEN", token);
                request.Content = route.Path.StartsWith("/api/")
                    ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json")
                    : new FormUrlEncodedContent(new Dictionary<string, string>());
            }
            using var response = await user.Http.SendAsync(request);
            var allowed = level >= route.Need;
            var status = (int)response.StatusCode;
            if (allowed && status is 401 or 403) failures.Add($"{route.Method} {route.Path}: expected allowed, got {status}");
            if (!allowed && status != 403) failures.Add($"{route.Method} {route.Path}: expected 403, got {status}");
            if (status >= 500) failures.Add($"{route.Method} {route.Path}: server error {status}");
        }
        Assert.Empty(failures);
    }

    /// <summary>
    /// The same matrix for apps calling with their own app-only token (no cookie, no antiforgery token): /api routes as for
    /// a user of the same role, an app without a Sentinel role 401 everywhere; pages ignore bearer tokens (sign-in redirect).
    /// </summary>
    [Theory]
    [InlineData(AppTokens.NoRole, Need.Public)]
    [InlineData(AppTokens.Reader, Need.Reader)]
    [InlineData(AppTokens.Operator, Need.Operator)]
    [InlineData(AppTokens.Admin, Need.Admin)]
    public async Task Each_app_role_reaches_exactly_the_api_routes_its_level_allows(string app, Need level)
    {
        var token = await AppTokens.ForAsync(fx.Sim, app);
        using var client = fx.Anonymous();
        var failures = new List<string>();
        foreach (var route in Routes.Where(r => r.Need != Need.Public))
        {
            var request = new HttpRequestMessage(new HttpMethod(route.Method), route.Path);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            if (route.Method != "GET")
                request.Content = route.Path.StartsWith("/api/")
                    ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json")
                    : new FormUrlEncodedContent(new Dictionary<string, string>());
            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            if (!route.Path.StartsWith("/api/"))
            {
                if (status != 302) failures.Add($"{route.Method} {route.Path}: a page must ignore the bearer token (sign-in redirect), got {status}");
                continue;
            }
            var allowed = level >= route.Need;
            if (level == Need.Public && status != 401) failures.Add($"{route.Method} {route.Path}: expected 401 for an app without a role, got {status}");
            else if (level != Need.Public && allowed && status is 401 or 403) failures.Add($"{route.Method} {route.Path}: expected allowed, got {status}");
            else if (level != Need.Public && !allowed && status != 403) failures.Add($"{route.Method} {route.Path}: expected 403, got {status}");
            if (status >= 500) failures.Add($"{route.Method} {route.Path}: server error {status}");
        }
        Assert.Empty(failures);
    }

    [Fact]
    public async Task A_user_without_a_role_gets_the_friendly_403_page()
    {
        var user = await fx.SignInAsync(WebFixture.NoRole);
        using var response = await user.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("you have no Princeton Sentinel role", html);
        Assert.Contains("Sentinel.Reader", html);
    }

    [Fact]
    public async Task A_reader_sees_no_admin_actions()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var jobs = await reader.Http.GetStringAsync("/jobs");
        Assert.DoesNotContain("/jobs/new", jobs);
        Assert.DoesNotContain("href=\"/admin\"", jobs);
        Assert.DoesNotContain("href=\"/audit\"", jobs);
        var item = await reader.Http.GetStringAsync("/inventory/items/d1/i1");
        Assert.DoesNotContain("Verify live", item);
    }
}
