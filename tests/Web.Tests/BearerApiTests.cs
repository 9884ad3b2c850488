using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Identity.Client;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Tests;

/// <summary>
/// /api/* also accepts Entra access tokens for the app (the WebAuth bearer scheme, same rules as the worker's control
/// plane): a delegated token with the user's app roles works without any cookie; roles still gate each route; app-only
/// tokens (no scp) and ID tokens are refused. Tokens come from the simulator through MSAL, as a script would get them.
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

    [Fact]
    public async Task App_only_tokens_id_tokens_and_garbage_are_refused_with_401_json()
    {
        var app = ConfidentialClientApplicationBuilder.Create(fx.Sim.ClientId).WithClientSecret(fx.Sim.ClientSecret)
            .WithOidcAuthority($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/v2.0").WithHttpClientFactory(new Factory(new HttpClient(TrustedHttp.CreateHandler(fx.Sim.CaFile)))).Build();
        var appOnly = await app.AcquireTokenForClient([$"api://{fx.Sim.ClientId}/.default"]).ExecuteAsync();
        var idToken = (await UserTokenAsync(WebFixture.Admin)).IdToken;

        foreach (var (token, why) in new[] { (appOnly.AccessToken, "lacks the delegated scope access_as_user"), (idToken, "not an access token"), ("not.a.jwt", "not valid") })
        {
            using var response = await GetAsync("/api/analytics", token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("unauthorized", body.GetProperty("code").GetString());
            Assert.Contains(why, body.GetProperty("error").GetString());
        }
    }

    private sealed class Factory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}
