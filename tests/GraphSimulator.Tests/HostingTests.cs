using System.Collections;
using System.Text.Json;

namespace Sentinel.GraphSimulator.Tests;

public sealed class HostingTests
{
    [Fact]
    public void Cli_flags_override_environment_and_entra_variables_configure_the_app()
    {
        var env = new Hashtable
        {
            ["SIM_PROFILE"] = "demo", ["SIM_SEED"] = "7", ["SIM_PORT"] = "6000", ["ENTRA_TENANT_ID"] = "tid-1", ["ENTRA_CLIENT_ID"] = "cid-1",
            ["ENTRA_CLIENT_SECRET"] = "s3cret", ["SIM_FAULT_429"] = "0.25", ["SIM_MUTATE_PER_TICK"] = "5",
        };
        var o = SimulatorCli.Parse(["--seed", "9", "--latency-ms", "10-20", "--host", "0.0.0.0", "--public-url", "https://simulator:5443/"], env)!;
        Assert.Equal("demo", o.Profile);
        Assert.Equal(9, o.Seed);
        Assert.Equal(6000, o.Port);
        Assert.Equal("tid-1", o.TenantId);
        Assert.Equal("cid-1", o.ClientId);
        Assert.Equal("s3cret", o.ClientSecret);
        Assert.Equal(0.25, o.Faults!.Rate429);
        Assert.Equal(10, o.Faults.LatencyMinMs);
        Assert.Equal(20, o.Faults.LatencyMaxMs);
        Assert.Equal(5, o.MutatePerTick);
        Assert.Equal("https://simulator:5443", o.PublicUrl);
        Assert.Throws<ArgumentException>(() => SimulatorCli.Parse(["--profile", "huge"], new Hashtable()));
        Assert.Throws<ArgumentException>(() => SimulatorCli.Parse(["--seed", "x"], new Hashtable()));
        Assert.Throws<ArgumentException>(() => SimulatorCli.Parse(["--bogus", "1"], new Hashtable()));
    }

    [Fact]
    public async Task Links_and_issuers_follow_the_host_the_request_arrived_with()
    {
        await using var sim = await SimHarness.StartAsync("tiny", 3);
        using var http = SimHarness.Http(sim);
        var local = sim.BaseUrl.Replace("127.0.0.1", "localhost");
        using var disc = JsonDocument.Parse(await http.GetStringAsync($"{local}/{sim.TenantId}/v2.0/.well-known/openid-configuration"));
        Assert.Equal($"{local}/{sim.TenantId}/v2.0", disc.RootElement.GetProperty("issuer").GetString());
        using var disc2 = JsonDocument.Parse(await http.GetStringAsync($"{sim.BaseUrl}/{sim.TenantId}/v2.0/.well-known/openid-configuration"));
        Assert.Equal($"{sim.BaseUrl}/{sim.TenantId}/v2.0", disc2.RootElement.GetProperty("issuer").GetString());

        await using var pub = await SimHarness.StartAsync("tiny", 3, o => o.PublicUrl = "https://simulator:5443");
        Assert.Equal("https://simulator:5443", pub.BaseUrl);
    }

    [Fact]
    public async Task Mutation_ticker_applies_changes_on_its_interval()
    {
        await using var sim = await SimHarness.StartAsync("tiny", 3, o => { o.MutatePerTick = 3; o.MutateIntervalSeconds = 0.1; });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (sim.Stats.Mutations < 6 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(sim.Stats.Mutations >= 6);
    }

    [Fact]
    public async Task Expired_authorization_code_is_AADSTS70008()
    {
        var clock = new ShiftedClock();
        await using var sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", Port = 0, CertDir = SimHarness.CertDir }, clock);
        using var http = SimHarness.Http(sim, redirects: false);
        var app = SimHarness.Msal(sim, http, redirectUri: "https://localhost/cb");
        string[] scopes = [$"api://{sim.ClientId}/access_as_user"];
        var url = await app.GetAuthorizationRequestUrl(scopes).WithPkce(out var verifier).ExecuteAsync();
        var code = await IdentityTests.PickUser(http, url, "admin@contoso.onmicrosoft.com", null);
        clock.Offset = TimeSpan.FromMinutes(11);
        var e = await Assert.ThrowsAnyAsync<Microsoft.Identity.Client.MsalServiceException>(() => app.AcquireTokenByAuthorizationCode(scopes, code).WithPkceCodeVerifier(verifier).ExecuteAsync());
        Assert.Contains("AADSTS70008", e.Message);
    }

    [Fact]
    public async Task Old_delta_tokens_expire_like_graphs()
    {
        var clock = new ShiftedClock();
        await using var sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", Port = 0, CertDir = SimHarness.CertDir }, clock);
        using var http = SimHarness.Http(sim);
        http.DefaultRequestHeaders.Authorization = new("Bearer", sim.IssueGraphToken());
        async Task<string> DeltaLink(string url)
        {
            while (true)
            {
                using var doc = await SimHarness.GetJson(http, url);
                if (doc.RootElement.TryGetProperty("@odata.deltaLink", out var dl)) return dl.GetString()!;
                url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
            }
        }
        var users = await DeltaLink($"{sim.GraphBaseUrl}/users/delta");
        var drive = await DeltaLink($"{sim.GraphBaseUrl}/drives/{sim.Core.Tenant.Drives[0].Id}/root/delta");
        clock.Offset = TimeSpan.FromDays(6);
        http.DefaultRequestHeaders.Authorization = new("Bearer", sim.IssueGraphToken());
        (await http.GetAsync(users)).EnsureSuccessStatusCode();
        clock.Offset = TimeSpan.FromDays(8);
        http.DefaultRequestHeaders.Authorization = new("Bearer", sim.IssueGraphToken());
        var expired = await http.GetAsync(users);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, expired.StatusCode);
        Assert.Contains("syncStateNotFound", await expired.Content.ReadAsStringAsync());
        (await http.GetAsync(drive)).EnsureSuccessStatusCode();
        clock.Offset = TimeSpan.FromDays(31);
        http.DefaultRequestHeaders.Authorization = new("Bearer", sim.IssueGraphToken());
        var gone = await http.GetAsync(drive);
        Assert.Equal(System.Net.HttpStatusCode.Gone, gone.StatusCode);
        Assert.NotNull(gone.Headers.Location);
    }

    [Fact]
    public async Task Ground_truth_follows_the_contract_shape()
    {
        await using var sim = await SimHarness.StartAsync("small", 42);
        using var http = SimHarness.Http(sim);
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"{sim.BaseUrl}/_sim/state"));
        var r = doc.RootElement;
        foreach (var k in new[] { "users", "groups", "memberships", "sites", "drives", "items", "permissions" }) Assert.True(r.GetProperty(k).GetArrayLength() > 0, k);
        var roots = r.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("parentId").ValueKind == JsonValueKind.Null).ToList();
        Assert.All(roots, i => Assert.Equal("/", i.GetProperty("path").GetString()));
        Assert.Equal(r.GetProperty("drives").GetArrayLength(), roots.Count);
        var items = r.GetProperty("items").EnumerateArray().ToDictionary(i => i.GetProperty("id").GetString()!);
        foreach (var p in r.GetProperty("permissions").EnumerateArray())
        {
            // live permissions are held by roots of permission hierarchies only (drive roots, folders and files)
            if (!p.GetProperty("deleted").GetBoolean())
                Assert.True(items[p.GetProperty("itemId").GetString()!].GetProperty("hasUniquePermissions").GetBoolean());
            if (p.GetProperty("expirationDateTime").ValueKind == JsonValueKind.String) Assert.DoesNotContain("0001-01-01", p.GetProperty("expirationDateTime").GetString());
        }
        var live = r.GetProperty("permissions").EnumerateArray().Where(p => !p.GetProperty("deleted").GetBoolean()).ToList();
        Assert.Contains(live, p => items[p.GetProperty("itemId").GetString()!].GetProperty("isFolder").GetBoolean()
                                   && items[p.GetProperty("itemId").GetString()!].GetProperty("parentId").ValueKind != JsonValueKind.Null); // shared folders
        Assert.All(roots, i => Assert.True(i.GetProperty("hasUniquePermissions").GetBoolean()));
        // an inheriting item's effective permissions are its root's
        var byRoot = live.GroupBy(p => p.GetProperty("itemId").GetString()!)
            .ToDictionary(g => g.Key, g => g.Select(p => p.GetProperty("id").GetString()!).Distinct().Order(StringComparer.Ordinal).ToList());
        foreach (var i in items.Values.Where(i => !i.GetProperty("deleted").GetBoolean()))
            Assert.Equal(byRoot.GetValueOrDefault(i.GetProperty("permissionRootId").GetString()!) ?? [],
                i.GetProperty("effectivePermissionIds").EnumerateArray().Select(x => x.GetString()!).ToList());
        Assert.Contains(live.SelectMany(p => p.GetProperty("grants").EnumerateArray()), g => g.TryGetProperty("isOrgWide", out var o) && o.GetBoolean());
        var grants = r.GetProperty("permissions").EnumerateArray().SelectMany(p => p.GetProperty("grants").EnumerateArray()).ToList();
        Assert.Contains(grants, g => g.GetProperty("principalType").GetString() == "invitation" && g.GetProperty("isExternal").GetBoolean());
        Assert.Contains(grants, g => g.GetProperty("principalType").GetString() == "siteUser" && g.GetProperty("isExternal").GetBoolean());
        Assert.Contains(grants, g => g.GetProperty("principalType").GetString() == "user" && g.GetProperty("isExternal").GetBoolean());
        Assert.Contains(grants, g => g.GetProperty("principalType").GetString() == "siteGroup");
        Assert.Contains(grants, g => g.GetProperty("principalType").GetString() == "group");
        var upns = r.GetProperty("users").EnumerateArray().Select(u => u.GetProperty("userPrincipalName").GetString()).ToList();
        foreach (var demo in new[] { "admin", "operator", "reader", "norole" }) Assert.Contains($"{demo}@contoso.onmicrosoft.com", upns);
    }

    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Offset;
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }
}
