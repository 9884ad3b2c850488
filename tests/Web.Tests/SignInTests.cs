using System.Net;

namespace Sentinel.Web.Tests;

[Collection(WebCollection.Name)]
public sealed class SignInTests(WebFixture fx)
{
    [Fact]
    public async Task Admin_signs_in_through_the_simulator_and_sees_the_dashboard()
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        var html = await admin.Http.GetStringAsync("/");
        Assert.Contains("Data posture", html);
        Assert.Contains("Cached (DB) — last refreshed at", html);
        Assert.Contains("data-testid=\"user-role\">Admin<", html);
    }

    [Fact]
    public async Task A_second_web_instance_accepts_the_session_and_acquires_the_worker_token_from_the_shared_cache()
    {
        var op = await fx.SignInAsync(WebFixture.Operator);
        Assert.True(await fx.ScalarAsync<long>("SELECT count(*) FROM web_distributed_cache") >= 1);
        Assert.True(await fx.ScalarAsync<long>("SELECT count(*) FROM web_data_protection_keys") >= 1);

        await using var second = fx.BuildWeb();
        await second.StartAsync();
        var otherUrl = second.Urls.First().TrimEnd('/');
        // Cookies are not port-bound: the same browser session goes to the other instance.
        using var response = await op.Http.GetAsync(otherUrl + "/admin/worker-health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        // The token came from PostgreSQL (the worker itself is not running here, so the call fails after that).
        Assert.DoesNotContain("session has expired", html);
        Assert.Contains("could not be reached", html);
    }

    [Fact]
    public async Task Sign_out_revokes_the_session_server_side_clears_the_cached_tokens_and_returns_through_the_instance_logout()
    {
        var user = await SignedInClient.SignInAsync(fx.BaseUrl, fx.Sim, WebFixture.Reader);
        var token = await user.CsrfTokenAsync("/");
        var cached = await fx.ScalarAsync<long>("SELECT count(*) FROM web_distributed_cache");
        var sessions = await fx.ScalarAsync<long>("SELECT count(*) FROM web_sessions");
        // What an attacker would copy out of the browser before the user signs out.
        var copied = user.Cookies.GetCookieHeader(new Uri(fx.BaseUrl));
        Assert.Contains(".Sentinel.Session=", copied);

        using var response = await user.Http.PostAsync("/account/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var logout = response.Headers.Location!.ToString();
        Assert.StartsWith(fx.Sim.BaseUrl + "/" + fx.Sim.TenantId + "/oauth2/v2.0/logout", logout);
        Assert.Contains(Uri.EscapeDataString(fx.BaseUrl + "/signout-callback-oidc"), logout);
        Assert.Equal(cached - 1, await fx.ScalarAsync<long>("SELECT count(*) FROM web_distributed_cache"));
        Assert.Equal(sessions - 1, await fx.ScalarAsync<long>("SELECT count(*) FROM web_sessions"));
        using var after = await user.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Contains("/account/signin", after.Headers.Location!.ToString());

        // The copied cookie no longer works: the session it names is gone from the server.
        using var replay = fx.Anonymous();
        var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Cookie", copied);
        using var replayed = await replay.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, replayed.StatusCode);
        Assert.Contains("/account/signin", replayed.Headers.Location!.ToString());

        // The Entra logout comes back to the signed-out page through the OIDC handler's callback.
        using var back = await user.Http.GetAsync(await FollowLogoutAsync(logout));
        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("/account/signed-out", back.Headers.Location!.ToString());
        user.Dispose();
    }

    private async Task<string> FollowLogoutAsync(string logout)
    {
        var handler = Sentinel.Features.Infrastructure.TrustedHttp.CreateHandler(fx.Sim.CaFile);
        handler.AllowAutoRedirect = false;
        using var http = new HttpClient(handler);
        using var response = await http.GetAsync(logout);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.Location!.ToString();
    }
}
