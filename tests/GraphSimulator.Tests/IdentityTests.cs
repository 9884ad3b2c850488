using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Identity.Client;

namespace Sentinel.GraphSimulator.Tests;

public sealed class IdentityTests(SharedSim fx) : IClassFixture<SharedSim>
{
    private static JsonElement Payload(string jwt)
    {
        var p = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        p = p.PadRight(p.Length + (4 - p.Length % 4) % 4, '=');
        return JsonDocument.Parse(Convert.FromBase64String(p)).RootElement;
    }

    [Fact]
    public async Task Msal_client_credentials_gets_a_v1_app_only_graph_token()
    {
        var app = SimHarness.Msal(fx.Sim, fx.Http);
        var r = await app.AcquireTokenForClient(["https://graph.microsoft.com/.default"]).ExecuteAsync();
        var p = Payload(r.AccessToken);
        Assert.Equal("https://graph.microsoft.com", p.GetProperty("aud").GetString());
        Assert.Equal($"https://sts.windows.net/{fx.Sim.TenantId}/", p.GetProperty("iss").GetString());
        Assert.Equal(fx.Sim.ClientId, p.GetProperty("appid").GetString());
        Assert.Equal("app", p.GetProperty("idtyp").GetString());
        Assert.Contains("Sites.Read.All", p.GetProperty("roles").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task Wrong_secret_and_wrong_scope_are_AADSTS_errors()
    {
        var bad = SimHarness.Msal(fx.Sim, fx.Http, secret: "nope");
        var e = await Assert.ThrowsAsync<MsalServiceException>(() => bad.AcquireTokenForClient(["https://graph.microsoft.com/.default"]).ExecuteAsync());
        Assert.Equal("invalid_client", e.ErrorCode);
        Assert.Contains("AADSTS7000215", e.Message);

        var good = SimHarness.Msal(fx.Sim, fx.Http);
        var e2 = await Assert.ThrowsAsync<MsalServiceException>(() => good.AcquireTokenForClient(["api://someone-else/.default"]).ExecuteAsync());
        Assert.Equal("invalid_scope", e2.ErrorCode);
        Assert.Equal(400, e2.StatusCode);
    }

    [Fact]
    public async Task Discovery_and_jwks_validate_the_signature_of_issued_tokens()
    {
        using var disc = await SimHarness.GetJson(fx.Http, $"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/v2.0/.well-known/openid-configuration");
        Assert.Equal($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/v2.0", disc.RootElement.GetProperty("issuer").GetString());
        var jwksUri = disc.RootElement.GetProperty("jwks_uri").GetString()!;
        Assert.Equal($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/discovery/v2.0/keys", jwksUri);
        var jwks = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await fx.Http.GetStringAsync(jwksUri));
        var token = fx.Sim.IssueGraphToken();
        var handler = new JwtSecurityTokenHandler();
        handler.ValidateToken(token, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = $"https://sts.windows.net/{fx.Sim.TenantId}/",
            ValidAudience = "https://graph.microsoft.com",
            IssuerSigningKeys = jwks.GetSigningKeys(),
        }, out _);
    }

    [Fact]
    public async Task Authorization_code_with_pkce_through_the_user_picker_signs_in_a_demo_user()
    {
        using var http = SimHarness.Http(fx.Sim, redirects: false);
        const string redirect = "https://localhost:5001/signin-oidc";
        var app = SimHarness.Msal(fx.Sim, http, redirectUri: redirect);
        string[] scopes = [$"api://{fx.Sim.ClientId}/access_as_user"];
        var url = await app.GetAuthorizationRequestUrl(scopes).WithPkce(out var verifier).WithExtraQueryParameters(new Dictionary<string, (string, bool)> { ["state"] = ("st4te", false), ["nonce"] = ("n0nce", false) }).ExecuteAsync();

        var code = await PickUser(http, url, "operator@contoso.onmicrosoft.com", expectState: "st4te");
        var r = await app.AcquireTokenByAuthorizationCode(scopes, code).WithPkceCodeVerifier(verifier).ExecuteAsync();
        var id = Payload(r.IdToken);
        Assert.Equal(fx.Sim.ClientId, id.GetProperty("aud").GetString());
        Assert.Equal("operator@contoso.onmicrosoft.com", id.GetProperty("preferred_username").GetString());
        Assert.Equal("n0nce", id.GetProperty("nonce").GetString());
        Assert.Equal("Sentinel.Operator", id.GetProperty("roles")[0].GetString());
        // requestedAccessTokenVersion unset (Entra's default): a v1 token for the API, aud = the App ID URI requested.
        var at = Payload(r.AccessToken);
        Assert.Equal($"api://{fx.Sim.ClientId}", at.GetProperty("aud").GetString());
        Assert.Equal($"https://sts.windows.net/{fx.Sim.TenantId}/", at.GetProperty("iss").GetString());
        Assert.Equal("1.0", at.GetProperty("ver").GetString());
        Assert.Equal(fx.Sim.ClientId, at.GetProperty("appid").GetString());
        Assert.Equal("access_as_user", at.GetProperty("scp").GetString());

        // replayed code
        var replay = await Assert.ThrowsAnyAsync<MsalServiceException>(() => app.AcquireTokenByAuthorizationCode(scopes, code).WithPkceCodeVerifier(verifier).ExecuteAsync());
        Assert.Contains("AADSTS54005", replay.Message);

        // bad verifier
        var url2 = await app.GetAuthorizationRequestUrl(scopes).WithPkce(out _).ExecuteAsync();
        var code2 = await PickUser(http, url2, "norole@contoso.onmicrosoft.com", expectState: null);
        var bad = await Assert.ThrowsAnyAsync<MsalServiceException>(() => app.AcquireTokenByAuthorizationCode(scopes, code2).WithPkceCodeVerifier(new string('x', 43)).ExecuteAsync());
        Assert.Equal("invalid_grant", bad.ErrorCode);
        Assert.Contains("AADSTS501481", bad.Message);

        // refresh_token grant (raw, as the web host's cookie refresh would do)
        var raw = await new HttpClient(Sentinel.Features.Infrastructure.TrustedHttp.CreateHandler(fx.Sim.CaFile)).PostAsync($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/oauth2/v2.0/token",
            new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code", ["client_id"] = fx.Sim.ClientId, ["client_secret"] = fx.Sim.ClientSecret,
                ["code"] = await PickUser(http, await app.GetAuthorizationRequestUrl(scopes).WithPkce(out var v3).ExecuteAsync(), "reader@contoso.onmicrosoft.com", null),
                ["redirect_uri"] = redirect, ["code_verifier"] = v3, ["scope"] = $"openid profile offline_access api://{fx.Sim.ClientId}/access_as_user",
            }));
        using var first = JsonDocument.Parse(await raw.Content.ReadAsStringAsync());
        var rt = first.RootElement.GetProperty("refresh_token").GetString()!;
        var refreshed = await http.PostAsync($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/oauth2/v2.0/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["client_id"] = fx.Sim.ClientId, ["client_secret"] = fx.Sim.ClientSecret, ["refresh_token"] = rt,
        }));
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        using var second = JsonDocument.Parse(await refreshed.Content.ReadAsStringAsync());
        Assert.Equal("Sentinel.Reader", Payload(second.RootElement.GetProperty("access_token").GetString()!).GetProperty("roles")[0].GetString());
    }

    [Fact]
    public async Task The_v1_discovery_document_names_the_sts_issuer_and_the_same_keys()
    {
        using var v1 = await SimHarness.GetJson(fx.Http, $"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/.well-known/openid-configuration");
        Assert.Equal($"https://sts.windows.net/{fx.Sim.TenantId}/", v1.RootElement.GetProperty("issuer").GetString());
        var v1Keys = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await fx.Http.GetStringAsync(v1.RootElement.GetProperty("jwks_uri").GetString()!));
        using var v2 = await SimHarness.GetJson(fx.Http, $"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/v2.0/.well-known/openid-configuration");
        var v2Keys = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await fx.Http.GetStringAsync(v2.RootElement.GetProperty("jwks_uri").GetString()!));
        Assert.Equal(v2Keys.Keys.Select(k => k.Kid), v1Keys.Keys.Select(k => k.Kid));
    }

    [Fact]
    public async Task With_requestedAccessTokenVersion_2_the_api_token_is_v2_with_the_client_id_as_audience()
    {
        await using var sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", CertDir = Path.Combine(Path.GetTempPath(), "sentinel-sim-idtests-v2") });
        sim.RequestedAccessTokenVersion = 2;
        using var http = SimHarness.Http(sim, redirects: false);
        const string redirect = "https://localhost:5001/signin-oidc";
        var app = SimHarness.Msal(sim, http, redirectUri: redirect);
        string[] scopes = [$"api://{sim.ClientId}/access_as_user"];
        var url = await app.GetAuthorizationRequestUrl(scopes).WithPkce(out var verifier).ExecuteAsync();
        var code = await PickUser(http, url, "reader@contoso.onmicrosoft.com", expectState: null);
        var r = await app.AcquireTokenByAuthorizationCode(scopes, code).WithPkceCodeVerifier(verifier).ExecuteAsync();
        var at = Payload(r.AccessToken);
        Assert.Equal(sim.ClientId, at.GetProperty("aud").GetString());
        Assert.Equal($"{sim.BaseUrl}/{sim.TenantId}/v2.0", at.GetProperty("iss").GetString());
        Assert.Equal("2.0", at.GetProperty("ver").GetString());
        Assert.Equal(sim.ClientId, at.GetProperty("azp").GetString());
        Assert.Equal("Sentinel.Reader", at.GetProperty("roles")[0].GetString());
    }

    [Fact]
    public async Task Disabling_an_account_or_removing_its_app_role_shows_at_the_next_refresh_token_redemption()
    {
        await using var sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", CertDir = Path.Combine(Path.GetTempPath(), "sentinel-sim-idtests-access") });
        using var http = SimHarness.Http(sim, redirects: false);
        const string redirect = "https://localhost:5001/signin-oidc";
        var app = SimHarness.Msal(sim, http, redirectUri: redirect);
        string[] scopes = [$"api://{sim.ClientId}/access_as_user"];
        var url = await app.GetAuthorizationRequestUrl(scopes).WithPkce(out var verifier).ExecuteAsync();
        var first = await app.AcquireTokenByAuthorizationCode(scopes, await PickUser(http, url, "operator@contoso.onmicrosoft.com", null)).WithPkceCodeVerifier(verifier).ExecuteAsync();
        Assert.Equal("Sentinel.Operator", Payload(first.AccessToken).GetProperty("roles")[0].GetString());

        await sim.SetUserAccessAsync("operator@contoso.onmicrosoft.com", null, new SimulatorInstance.AppRoleChange(null));
        var noRole = await app.AcquireTokenSilent(scopes, first.Account).WithForceRefresh(true).ExecuteAsync();
        Assert.False(Payload(noRole.AccessToken).TryGetProperty("roles", out _));

        await sim.SetUserAccessAsync("operator@contoso.onmicrosoft.com", false, null);
        var disabled = await Assert.ThrowsAsync<MsalUiRequiredException>(() => app.AcquireTokenSilent(scopes, first.Account).WithForceRefresh(true).ExecuteAsync());
        Assert.Contains("AADSTS50057", disabled.Message);
    }

    [Fact]
    public async Task The_ca_export_dir_receives_the_certificate_and_never_the_key()
    {
        var certDir = Directory.CreateTempSubdirectory("sentinel-sim-keys-").FullName;
        var export = Directory.CreateTempSubdirectory("sentinel-sim-ca-").FullName;
        try
        {
            await using var sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", CertDir = certDir, CaExportDir = export });
            Assert.Equal(Path.Combine(export, "ca.pem"), sim.CaFile);
            Assert.Equal(["ca.pem"], Directory.GetFiles(export).Select(Path.GetFileName));
            Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync(sim.CaFile));
            Assert.True(File.Exists(Path.Combine(certDir, "ca.key.pem")));
            using var http = SimHarness.Http(sim);
            Assert.True((await http.GetAsync($"{sim.BaseUrl}/_sim/info")).IsSuccessStatusCode); // the exported CA validates the server
        }
        finally
        {
            Directory.Delete(certDir, true);
            Directory.Delete(export, true);
        }
    }

    /// <summary>Loads the picker, checks every demo user has a data-upn button, posts the chosen one, returns the code.</summary>
    internal static async Task<string> PickUser(HttpClient http, Uri authorizeUrl, string upn, string? expectState)
    {
        var html = await http.GetStringAsync(authorizeUrl);
        foreach (var demo in new[] { "admin", "operator", "reader", "norole" })
            Assert.Contains($"data-upn=\"{demo}@contoso.onmicrosoft.com\"", html);
        var action = Regex.Match(html, "<form method=\"post\" action=\"([^\"]+)\"").Groups[1].Value;
        var fields = Regex.Matches(html, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["login_hint"] = upn;
        var post = await http.PostAsync(new Uri(authorizeUrl, WebUtility.HtmlDecode(action)), new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.Redirect, post.StatusCode);
        var q = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(post.Headers.Location!.Query);
        if (expectState is not null) Assert.Equal(expectState, q["state"].ToString());
        return q["code"].ToString();
    }

    [Fact]
    public async Task Graph_rejects_missing_and_wrong_audience_tokens_with_401()
    {
        var none = await fx.Http.GetAsync($"{fx.Sim.GraphBaseUrl}/users/delta");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("InvalidAuthenticationToken", await none.Content.ReadAsStringAsync());

        var app = SimHarness.Msal(fx.Sim, fx.Http);
        var api = await app.AcquireTokenForClient([$"api://{fx.Sim.ClientId}/.default"]).ExecuteAsync();
        using var req = new HttpRequestMessage(HttpMethod.Get, $"{fx.Sim.GraphBaseUrl}/users/delta");
        req.Headers.Authorization = new("Bearer", api.AccessToken);
        var wrongAud = await fx.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAud.StatusCode);
        Assert.Contains("Invalid audience", await wrongAud.Content.ReadAsStringAsync());
    }
}
