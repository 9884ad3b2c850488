using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Sentinel.Web.Tests;

[Collection(SeededWebCollection.Name)]
public sealed class SecurityTests(SeededWebFixture fx)
{
    [Fact]
    public async Task A_state_change_without_the_antiforgery_token_is_rejected_and_writes_nothing()
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        var before = await fx.ScalarAsync<long>("SELECT count(*) FROM jobs");
        using var form = await admin.Http.PostAsync("/jobs/new", new FormUrlEncodedContent(new Dictionary<string, string> { ["JobType"] = "refresh_mv", ["Name"] = "csrf" }));
        Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        var api = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = new StringContent("{\"job_type\":\"refresh_mv\"}", System.Text.Encoding.UTF8, "application/json") };
        using var apiResponse = await admin.Http.SendAsync(api);
        Assert.Equal(HttpStatusCode.BadRequest, apiResponse.StatusCode);
        Assert.Equal(before, await fx.ScalarAsync<long>("SELECT count(*) FROM jobs"));

        // The same request with the token goes through: the rejection above was the token, nothing else.
        var token = await admin.CsrfTokenAsync();
        var ok = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = new StringContent("{\"job_type\":\"refresh_mv\",\"name\":\"with token\"}", System.Text.Encoding.UTF8, "application/json") };
        ok.Headers.Add("X-CSRF-TOKEN", token);
        using var okResponse = await admin.Http.SendAsync(ok);
        Assert.Equal(HttpStatusCode.Created, okResponse.StatusCode);
        Assert.Equal(1, await fx.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'job.created' AND actor_upn = @u AND details->>'name' = 'with token'", new { u = WebFixture.Admin }));
    }

    [Fact]
    public async Task Pages_carry_the_security_headers_and_the_session_cookie_is_httponly_and_lax()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        using var response = await reader.Http.GetAsync("/");
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("strict-origin-when-cross-origin", response.Headers.GetValues("Referrer-Policy").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(new Regex("<script(?![^>]*\\bsrc=)[^>]*>", RegexOptions.IgnoreCase), html);

        // A fresh sign-in shows the Set-Cookie attributes.
        using var anon = fx.Anonymous();
        using var start = await anon.GetAsync("/account/signin");
        var cookies = start.Headers.GetValues("Set-Cookie").Where(c => c.StartsWith(".Sentinel.Oidc")).ToList();
        Assert.Equal(2, cookies.Count); // correlation + nonce
        Assert.All(cookies, cookie =>
        {
            Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        });
    }

    [Fact]
    public async Task Behind_an_https_proxy_the_cookies_are_secure()
    {
        // Loopback proxies are trusted by default: X-Forwarded-Proto https makes the request HTTPS.
        using var anon = fx.Anonymous();
        var request = new HttpRequestMessage(HttpMethod.Get, "/account/signin");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await anon.SendAsync(request);
        var cookies = response.Headers.GetValues("Set-Cookie").Where(c => c.StartsWith(".Sentinel.Oidc")).ToList();
        Assert.NotEmpty(cookies);
        Assert.All(cookies, cookie => Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("redirect_uri=https", Uri.UnescapeDataString(response.Headers.Location!.ToString()));
    }

    [Fact]
    public async Task A_forged_state_is_refused_and_creates_no_session()
    {
        using var anon = fx.Anonymous();
        using var start = await anon.GetAsync("/account/signin");
        using var callback = await anon.GetAsync("/signin-oidc?code=abc&state=forged");
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/account/signin-failed?reason=state", callback.Headers.Location!.ToString());
        using var page = await anon.GetAsync(callback.Headers.Location);
        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
        Assert.Contains("did not match", await page.Content.ReadAsStringAsync());
        using var home = await anon.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
    }

}
