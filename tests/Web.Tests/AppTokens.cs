using Microsoft.Identity.Client;
using Sentinel.Features.Infrastructure;
using Sentinel.GraphSimulator;

namespace Sentinel.Web.Tests;

/// <summary>
/// App-only tokens as a script with its own app registration gets them: MSAL client credentials against the simulator,
/// as one of its client apps (SIEM connector = Reader, Automation = Operator, Provisioning = Admin, Unassigned app = none).
/// </summary>
public static class AppTokens
{
    public const string Reader = "SIEM connector";
    public const string Operator = "Automation";
    public const string Admin = "Provisioning";
    public const string NoRole = "Unassigned app";

    public static IConfidentialClientApplication Msal(SimulatorInstance sim, string clientId, string secret) =>
        ConfidentialClientApplicationBuilder.Create(clientId).WithClientSecret(secret)
            .WithOidcAuthority($"{sim.BaseUrl}/{sim.TenantId}/v2.0")
            .WithHttpClientFactory(new Factory(new HttpClient(TrustedHttp.CreateHandler(sim.CaFile)))).Build();

    /// <summary>Client credentials of the client app <paramref name="displayName"/> for <paramref name="scopeFormat"/> ({0} = Sentinel's client id).</summary>
    public static async Task<string> ForAsync(SimulatorInstance sim, string displayName, string scopeFormat = "api://{0}/.default")
    {
        var app = sim.ClientApps.Single(a => a.DisplayName == displayName);
        var result = await Msal(sim, app.ClientId, app.ClientSecret).AcquireTokenForClient([string.Format(scopeFormat, sim.ClientId)]).ExecuteAsync();
        return result.AccessToken;
    }

    private sealed class Factory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}
