using System.Collections;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Identity.Client;

namespace Sentinel.GraphSimulator.Tests;

/// <summary>
/// Other app registrations of the tenant (a SIEM connector, an automation app) get app-only tokens for the Sentinel API by
/// client credentials, shaped as Entra issues them: the roles assigned to the caller (omitted when none), idtyp app,
/// oid = sub = the caller's service principal, no scp; v1 or v2 by the Sentinel manifest's requestedAccessTokenVersion.
/// </summary>
public sealed class ClientAppTokenTests(SharedSim fx) : IClassFixture<SharedSim>
{
    private static JsonElement Payload(string jwt)
    {
        var p = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        p = p.PadRight(p.Length + (4 - p.Length % 4) % 4, '=');
        return JsonDocument.Parse(Convert.FromBase64String(p)).RootElement;
    }

    private ClientApp App(string name) => fx.Sim.ClientApps.Single(a => a.DisplayName == name);

    private IConfidentialClientApplication Msal(ClientApp app, string? secret = null) =>
        ConfidentialClientApplicationBuilder.Create(app.ClientId).WithClientSecret(secret ?? app.ClientSecret)
            .WithAuthority($"{fx.Sim.EntraInstance}{fx.Sim.TenantId}", validateAuthority: false).WithInstanceDiscovery(false)
            .WithHttpClientFactory(new Factory(fx.Http)).Build();

    [Fact]
    public async Task A_client_app_gets_a_v1_app_only_token_with_its_assigned_role()
    {
        var siem = App("SIEM connector");
        var r = await Msal(siem).AcquireTokenForClient([$"api://{fx.Sim.ClientId}/.default"]).ExecuteAsync();
        var p = Payload(r.AccessToken);
        Assert.Equal("1.0", p.GetProperty("ver").GetString());
        Assert.Equal($"api://{fx.Sim.ClientId}", p.GetProperty("aud").GetString());
        Assert.Equal($"https://sts.windows.net/{fx.Sim.TenantId}/", p.GetProperty("iss").GetString());
        Assert.Equal(siem.ClientId, p.GetProperty("appid").GetString());
        Assert.Equal("1", p.GetProperty("appidacr").GetString());
        Assert.Equal("SIEM connector", p.GetProperty("app_displayname").GetString());
        Assert.Equal("app", p.GetProperty("idtyp").GetString());
        Assert.Equal(siem.ServicePrincipalId, p.GetProperty("oid").GetString());
        Assert.Equal(siem.ServicePrincipalId, p.GetProperty("sub").GetString());
        Assert.Equal(["Sentinel.Reader"], p.GetProperty("roles").EnumerateArray().Select(x => x.GetString()));
        Assert.False(p.TryGetProperty("scp", out _));
        Assert.False(p.TryGetProperty("azp", out _));

        // v1 aud is the resource as the client named it.
        var byId = await Msal(siem).AcquireTokenForClient([$"{fx.Sim.ClientId}/.default"]).ExecuteAsync();
        Assert.Equal(fx.Sim.ClientId, Payload(byId.AccessToken).GetProperty("aud").GetString());
    }

    [Fact]
    public async Task With_requested_access_token_version_2_the_token_is_v2_with_azp_and_the_client_id_audience()
    {
        var automation = App("Automation");
        fx.Sim.RequestedAccessTokenVersion = 2;
        try
        {
            var r = await Msal(automation).AcquireTokenForClient([$"{fx.Sim.ClientId}/.default"]).ExecuteAsync();
            var p = Payload(r.AccessToken);
            Assert.Equal("2.0", p.GetProperty("ver").GetString());
            Assert.Equal(fx.Sim.ClientId, p.GetProperty("aud").GetString());
            Assert.Equal($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/v2.0", p.GetProperty("iss").GetString());
            Assert.Equal(automation.ClientId, p.GetProperty("azp").GetString());
            Assert.Equal("1", p.GetProperty("azpacr").GetString());
            Assert.Equal("app", p.GetProperty("idtyp").GetString());
            Assert.Equal(automation.ServicePrincipalId, p.GetProperty("oid").GetString());
            Assert.Equal(automation.ServicePrincipalId, p.GetProperty("sub").GetString());
            Assert.Equal(["Sentinel.Operator"], p.GetProperty("roles").EnumerateArray().Select(x => x.GetString()));
            Assert.False(p.TryGetProperty("scp", out _));
            Assert.False(p.TryGetProperty("appid", out _));
        }
        finally
        {
            fx.Sim.RequestedAccessTokenVersion = 1;
        }
    }

    [Fact]
    public async Task An_app_without_an_assignment_still_gets_a_token_but_without_roles()
    {
        var r = await Msal(App("Unassigned app")).AcquireTokenForClient([$"api://{fx.Sim.ClientId}/.default"]).ExecuteAsync();
        var p = Payload(r.AccessToken);
        Assert.Equal("app", p.GetProperty("idtyp").GetString());
        Assert.False(p.TryGetProperty("roles", out _));
    }

    [Fact]
    public async Task Wrong_secret_unknown_resource_and_user_grants_are_AADSTS_errors()
    {
        var siem = App("SIEM connector");
        var wrong = await Assert.ThrowsAsync<MsalServiceException>(() => Msal(siem, "nope").AcquireTokenForClient([$"api://{fx.Sim.ClientId}/.default"]).ExecuteAsync());
        Assert.Equal("invalid_client", wrong.ErrorCode);
        Assert.Contains("AADSTS7000215", wrong.Message);
        Assert.Contains(siem.ClientId, wrong.Message);

        var other = await Assert.ThrowsAsync<MsalServiceException>(() => Msal(siem).AcquireTokenForClient(["api://someone-else/.default"]).ExecuteAsync());
        Assert.Equal(400, other.StatusCode);
        Assert.Contains("AADSTS500011", other.Message);

        using var code = await fx.Http.PostAsync($"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/oauth2/v2.0/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["client_id"] = siem.ClientId, ["client_secret"] = siem.ClientSecret, ["code"] = "1.Anything", ["redirect_uri"] = "https://localhost/cb",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, code.StatusCode);
        Assert.Equal("invalid_grant", JsonDocument.Parse(await code.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_client_apps_graph_token_has_no_roles_and_graph_refuses_it_with_403()
    {
        var r = await Msal(App("SIEM connector")).AcquireTokenForClient(["https://graph.microsoft.com/.default"]).ExecuteAsync();
        Assert.False(Payload(r.AccessToken).TryGetProperty("roles", out _));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{fx.Sim.GraphBaseUrl}/users/delta");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", r.AccessToken);
        using var response = await fx.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("Authorization_RequestDenied", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());

        // Sentinel's own Graph token still works: the refusal is the missing permission, not the route.
        using var own = new HttpRequestMessage(HttpMethod.Get, $"{fx.Sim.GraphBaseUrl}/users/delta");
        own.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fx.Sim.IssueGraphToken());
        using var ok = await fx.Http.SendAsync(own);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public void Client_apps_come_from_the_command_line_and_bad_ones_are_refused()
    {
        var json = """[{"displayName":"Splunk","clientId":"11111111-2222-3333-4444-555555555555","clientSecret":"s","servicePrincipalId":"66666666-7777-8888-9999-000000000000","roles":["Sentinel.Reader"]}]""";
        var o = SimulatorCli.Parse(["--client-apps", json], new Hashtable())!;
        var app = Assert.Single(o.ClientApps);
        Assert.Equal(("Splunk", "Sentinel.Reader"), (app.DisplayName, Assert.Single(app.Roles)));
        Assert.DoesNotContain("clientSecret", app.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Splunk", app.ToString());
        Assert.Empty(SimulatorCli.Parse([], new Hashtable { ["SIM_CLIENT_APPS"] = "[]" })!.ClientApps);
        Assert.Equal(4, SimulatorCli.Parse([], new Hashtable())!.ClientApps.Count);

        var badRole = Assert.Throws<ArgumentException>(() => SimulatorCli.Parse(["--client-apps", json.Replace("Sentinel.Reader", "Global.Admin")], new Hashtable()));
        Assert.Contains("Global.Admin", badRole.Message);
        var clash = Assert.Throws<ArgumentException>(() => SimulatorCli.Parse(["--client-id", "11111111-2222-3333-4444-555555555555", "--client-apps", json], new Hashtable()));
        Assert.Contains("used twice", clash.Message);
        Assert.Throws<ArgumentException>(() => SimulatorCli.Parse(["--client-apps", "{not json"], new Hashtable()));
    }

    private sealed class Factory(HttpClient http) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => http;
    }
}
