using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Graph;
using Microsoft.Identity.Client;
using Microsoft.Kiota.Abstractions.Authentication;
using Sentinel.Features.Infrastructure;

namespace Sentinel.GraphSimulator.Tests;

/// <summary>Starts an in-process simulator and builds the REAL clients (MSAL.NET, Graph SDK) against it.</summary>
public static class SimHarness
{
    public static readonly string CertDir = Path.Combine(Path.GetTempPath(), "sentinel-sim-test-certs");

    public static Task<SimulatorInstance> StartAsync(string profile = "small", int seed = 42, Action<SimulatorOptions>? configure = null)
    {
        var o = new SimulatorOptions { Profile = profile, Seed = seed, Port = 0, CertDir = CertDir };
        configure?.Invoke(o);
        return SimulatorInstance.StartAsync(o);
    }

    public static HttpClient Http(SimulatorInstance sim, bool redirects = true)
    {
        var h = TrustedHttp.CreateHandler(sim.CaFile);
        h.AllowAutoRedirect = redirects;
        return new HttpClient(h) { Timeout = TimeSpan.FromSeconds(60) };
    }

    public static IConfidentialClientApplication Msal(SimulatorInstance sim, HttpClient http, string? secret = null, string? redirectUri = null)
    {
        var b = ConfidentialClientApplicationBuilder.Create(sim.ClientId)
            .WithClientSecret(secret ?? sim.ClientSecret)
            .WithAuthority($"{sim.EntraInstance}{sim.TenantId}", validateAuthority: false)
            .WithInstanceDiscovery(false)
            .WithHttpClientFactory(new Factory(http));
        if (redirectUri is not null) b = b.WithRedirectUri(redirectUri);
        return b.Build();
    }

    public static GraphServiceClient Graph(SimulatorInstance sim, HttpClient http, IConfidentialClientApplication? app = null)
    {
        app ??= Msal(sim, http);
        var provider = new MsalTokenProvider(app, new Uri(sim.BaseUrl).Host);
        return new GraphServiceClient(http, new BaseBearerTokenAuthenticationProvider(provider), sim.GraphBaseUrl);
    }

    public static async Task<HttpClient> AuthorizedRaw(SimulatorInstance sim)
    {
        var http = Http(sim);
        var token = await Msal(sim, http).AcquireTokenForClient(["https://graph.microsoft.com/.default"]).ExecuteAsync();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        return http;
    }

    public static async Task<JsonDocument> GetJson(HttpClient http, string url)
    {
        using var resp = await http.GetAsync(url);
        var body = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, $"{(int)resp.StatusCode} {url}: {body}");
        return JsonDocument.Parse(body);
    }

    private sealed class Factory(HttpClient http) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => http;
    }

    private sealed class MsalTokenProvider(IConfidentialClientApplication app, string host) : IAccessTokenProvider
    {
        public AllowedHostsValidator AllowedHostsValidator { get; } = new([host]);

        public async Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null, CancellationToken cancellationToken = default)
        {
            var r = await app.AcquireTokenForClient(["https://graph.microsoft.com/.default"]).ExecuteAsync(cancellationToken);
            return r.AccessToken;
        }
    }
}

/// <summary>One shared read-only simulator (tests that mutate or fault start their own).</summary>
public sealed class SharedSim : IAsyncLifetime
{
    public SimulatorInstance Sim { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Sim = await SimHarness.StartAsync("small", 42, o => { o.SitesPageSize = 2; o.MembersPerPage = 5; });
        Http = SimHarness.Http(Sim);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Sim.DisposeAsync();
    }
}
