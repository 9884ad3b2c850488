using System.Net;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Infrastructure;
using Sentinel.GraphSimulator;
using Sentinel.TestSupport;

namespace Sentinel.Web.Tests;

/// <summary>
/// The real web host (Kestrel on an ephemeral loopback port) over a migrated PostgreSQL database, signing in
/// against the tenant simulator's Entra endpoints through the production code path. Shared by the HTTP tests.
/// </summary>
public class WebFixture : IAsyncLifetime
{
    public const string Admin = "admin@contoso.onmicrosoft.com";
    public const string Operator = "operator@contoso.onmicrosoft.com";
    public const string Reader = "reader@contoso.onmicrosoft.com";
    public const string NoRole = "norole@contoso.onmicrosoft.com";

    private WebApplication? _web;
    private readonly Dictionary<string, SignedInClient> _clients = new();
    private readonly SemaphoreSlim _signInGate = new(1, 1);

    public SimulatorInstance Sim { get; private set; } = null!;
    public string DatabaseName { get; private set; } = "";
    public string ConnectionString { get; private set; } = "";
    public string BaseUrl { get; private set; } = "";
    public IServiceProvider WebServices => _web!.Services;
    public RecordingHandler Outbound { get; } = new();

    /// <summary>Extra configuration for derived fixtures (e.g. WORKER_API_URL).</summary>
    protected virtual IDictionary<string, string?> ExtraConfig() => new Dictionary<string, string?>();

    protected virtual string SimProfile => "small";

    /// <summary>Extra host setup for derived fixtures (e.g. a manual clock).</summary>
    protected virtual void ConfigureBuilder(WebApplicationBuilder builder) { }

    public virtual async Task InitializeAsync()
    {
        await StartDatabaseAndSimulatorAsync();
        await StartWebAsync();
    }

    protected async Task StartDatabaseAndSimulatorAsync()
    {
        DatabaseName = await TestDatabase.CreateMigratedAsync();
        ConnectionString = TestDatabase.ConnectionStringFor(DatabaseName);
        Sim = await SimulatorInstance.StartAsync(new SimulatorOptions
        {
            Profile = SimProfile, Seed = 42, CertDir = Path.Combine(Path.GetTempPath(), "sentinel-web-tests-sim"),
        });
    }

    protected async Task StartWebAsync()
    {
        _web = BuildWeb();
        await _web.StartAsync();
        BaseUrl = _web.Urls.First().TrimEnd('/');
    }

    /// <summary>Another web instance over the same database and identity provider (not started).</summary>
    public WebApplication BuildWeb(IDictionary<string, string?>? overrides = null) =>
        WebAppHost.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", WebContentRoot()], builder =>
        {
            var config = HostConfig();
            config["WORKER_API_URL"] = "http://127.0.0.1:9";
            foreach (var (k, v) in ExtraConfig()) config[k] = v;
            foreach (var (k, v) in overrides ?? new Dictionary<string, string?>()) config[k] = v;
            builder.Configuration.AddInMemoryCollection(config);
            ConfigureBuilder(builder);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });

    /// <summary>What web and worker hosts share: this fixture's database and the simulator's identity and Graph endpoints.</summary>
    protected Dictionary<string, string?> HostConfig() => new()
    {
        ["DATABASE_URL"] = ConnectionString,
        ["ENTRA_INSTANCE"] = Sim.EntraInstance,
        ["ENTRA_TENANT_ID"] = Sim.TenantId,
        ["ENTRA_CLIENT_ID"] = Sim.ClientId,
        ["ENTRA_CLIENT_SECRET"] = Sim.ClientSecret,
        ["GRAPH_BASE_URL"] = Sim.GraphBaseUrl,
        ["SENTINEL_CA_FILE"] = Sim.CaFile,
    };

    /// <summary>src/Web (for wwwroot), located from this source file (the binaries may live outside the repo).</summary>
    public static string WebContentRoot([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "src", "Web"));

    public virtual async Task DisposeAsync()
    {
        foreach (var c in _clients.Values) c.Dispose();
        if (_web is not null) await _web.DisposeAsync();
        if (Sim is not null) await Sim.DisposeAsync();
        if (DatabaseName.Length > 0) await TestDatabase.DropAsync(DatabaseName);
    }

    /// <summary>A client with no session (redirects not followed).</summary>
    public HttpClient Anonymous() => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = new Uri(BaseUrl) };

    /// <summary>A client signed in as the given demo user (cached per user for the fixture's life).</summary>
    public async Task<SignedInClient> SignInAsync(string upn)
    {
        await _signInGate.WaitAsync();
        try
        {
            if (_clients.TryGetValue(upn, out var existing)) return existing;
            var client = await SignedInClient.SignInAsync(BaseUrl, Sim, upn);
            _clients[upn] = client;
            return client;
        }
        finally
        {
            _signInGate.Release();
        }
    }

    public async Task<int> ExecuteAsync(string sql, object? args = null)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        return await c.ExecuteAsync(sql, args);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        return (await c.ExecuteScalarAsync<T>(sql, args))!;
    }
}

/// <summary>Counts outbound HTTP calls made by the web host (see NoOutboundDuringRenderTests).</summary>
public sealed class RecordingHandler
{
    public int Count;
}

/// <summary>An HttpClient holding a real session cookie obtained through the OIDC flow against the simulator.</summary>
public sealed class SignedInClient : IDisposable
{
    private SignedInClient(HttpClient http, CookieContainer cookies) { Http = http; Cookies = cookies; }

    public HttpClient Http { get; }
    public CookieContainer Cookies { get; }

    public static async Task<SignedInClient> SignInAsync(string baseUrl, SimulatorInstance sim, string upn)
    {
        var cookies = new CookieContainer();
        var handler = TrustedHttp.CreateHandler(sim.CaFile);
        handler.AllowAutoRedirect = false;
        handler.CookieContainer = cookies;
        handler.UseCookies = true;
        var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl) };

        var start = await http.GetAsync("/account/signin?returnUrl=%2F");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var authorize = start.Headers.Location!;
        Assert.True(authorize.ToString().StartsWith(sim.BaseUrl), $"sign-in redirected to {authorize}: {await start.Content.ReadAsStringAsync()}");
        var picker = await http.GetStringAsync(authorize);
        var hidden = Regex.Matches(picker, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        Assert.Contains($"data-upn=\"{upn}\"", picker);
        hidden["login_hint"] = upn;
        var picked = await http.PostAsync(new Uri(authorize.GetLeftPart(UriPartial.Path)), new FormUrlEncodedContent(hidden));
        Assert.Equal(HttpStatusCode.Redirect, picked.StatusCode);
        var callback = picked.Headers.Location!;
        Assert.StartsWith(baseUrl + "/signin-oidc", callback.ToString());
        var done = await http.GetAsync(callback);
        Assert.True(done.StatusCode == HttpStatusCode.Redirect, $"callback answered {(int)done.StatusCode}: {await done.Content.ReadAsStringAsync()}");
        Assert.Equal("/", done.Headers.Location!.ToString());
        return new SignedInClient(http, cookies);
    }

    /// <summary>The antiforgery request token from a page's layout meta tag.</summary>
    public async Task<string> CsrfTokenAsync(string page = "/jobs")
    {
        using var response = await Http.GetAsync(page);
        var html = await response.Content.ReadAsStringAsync();
        var m = Regex.Match(html, "<meta name=\"csrf-token\" content=\"([^\"]+)\"");
        Assert.True(m.Success, "no csrf meta tag");
        return WebUtility.HtmlDecode(m.Groups[1].Value);
    }

    public void Dispose() => Http.Dispose();
}

[CollectionDefinition(Name)]
public sealed class WebCollection : ICollectionFixture<WebFixture>
{
    public const string Name = "web";
}
