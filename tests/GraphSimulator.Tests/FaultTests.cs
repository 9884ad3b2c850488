using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sentinel.TestSupport;

namespace Sentinel.GraphSimulator.Tests;

public sealed class FaultTests : IAsyncLifetime
{
    private SimulatorInstance _sim = null!;
    private HttpClient _http = null!;
    private string G => _sim.GraphBaseUrl;

    public async Task InitializeAsync()
    {
        _sim = await SimHarness.StartAsync("small", 5);
        _http = await SimHarness.AuthorizedRaw(_sim);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _sim.DisposeAsync();
    }

    /// <summary>Replaces the test's simulator with one on <paramref name="clock"/> (a token it issued itself: no timers on the way).</summary>
    private async Task RestartOnAsync(TimeProvider clock)
    {
        _http.Dispose();
        await _sim.DisposeAsync();
        _sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "small", Seed = 5, Port = 0, CertDir = SimHarness.CertDir }, clock);
        _http = SimHarness.Http(_sim);
        _http.DefaultRequestHeaders.Authorization = new("Bearer", _sim.IssueGraphToken());
    }

    private async Task SetFaults(object cfg)
    {
        var r = await _http.PostAsJsonAsync($"{_sim.BaseUrl}/_sim/faults", cfg);
        r.EnsureSuccessStatusCode();
    }

    private async Task<JsonElement> Stats()
    {
        using var doc = JsonDocument.Parse(await _http.GetStringAsync($"{_sim.BaseUrl}/_sim/stats"));
        return doc.RootElement.Clone();
    }

    private string FirstDrive()
    {
        using var t = _sim.GetStateAsync().GetAwaiter().GetResult();
        return t.RootElement.GetProperty("drives")[0].GetProperty("id").GetString()!;
    }

    private async Task<string> DriveDeltaLink(string drive)
    {
        var url = $"{G}/drives/{drive}/root/delta";
        while (true)
        {
            using var doc = await SimHarness.GetJson(_http, url);
            if (doc.RootElement.TryGetProperty("@odata.deltaLink", out var dl)) return dl.GetString()!;
            url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
        }
    }

    [Fact]
    public async Task Scripted_429_carries_retry_after_and_early_retries_are_counted()
    {
        await SetFaults(new { script = new[] { "429", "429-date" }, retryAfterSeconds = 2, retryAfterGraceMs = 0 });
        var r1 = await _http.GetAsync($"{G}/sites/root");
        Assert.Equal((HttpStatusCode)429, r1.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), r1.Headers.RetryAfter!.Delta);
        var r2 = await _http.GetAsync($"{G}/sites/root"); // too early: counted
        Assert.Equal((HttpStatusCode)429, r2.StatusCode);
        Assert.NotNull(r2.Headers.RetryAfter!.Date); // HTTP-date form
        var s = await Stats();
        Assert.Equal(2, s.GetProperty("throttled429").GetInt64());
        Assert.Equal(1, s.GetProperty("requestsDuringRetryAfter").GetInt64());
        var cfg = await _http.GetFromJsonAsync<JsonElement>($"{_sim.BaseUrl}/_sim/faults");
        Assert.Empty(cfg.GetProperty("script").EnumerateArray()); // consumed
    }

    [Fact]
    public async Task Graph_sdk_retry_handler_honours_retry_after_so_nothing_arrives_early()
    {
        await SetFaults(new { script = new[] { "429@/users", "503@/users" }, retryAfterSeconds = 1 });
        // the SDK's default middleware (retry handler) only exists in clients built by GraphClientFactory
        using var http = Microsoft.Graph.GraphClientFactory.Create(finalHandler: Sentinel.Features.Infrastructure.TrustedHttp.CreateHandler(_sim.CaFile));
        var client = SimHarness.Graph(_sim, http, SimHarness.Msal(_sim, SimHarness.Http(_sim)));
        var page = await client.Users.Delta.GetAsDeltaGetResponseAsync();
        Assert.NotNull(page);
        var s = await Stats();
        Assert.Equal(1, s.GetProperty("throttled429").GetInt64());
        Assert.Equal(1, s.GetProperty("served503").GetInt64());
        Assert.Equal(0, s.GetProperty("requestsDuringRetryAfter").GetInt64());
    }

    [Fact]
    public async Task Drive_delta_resync_is_410_with_a_location_that_enumerates_from_scratch()
    {
        var drive = FirstDrive();
        var link = await DriveDeltaLink(drive);
        await SetFaults(new { script = new[] { "410" } });
        var r = await _http.GetAsync(link);
        Assert.Equal(HttpStatusCode.Gone, r.StatusCode);
        using var err = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal("resyncChangesApplyDifferences", err.RootElement.GetProperty("error").GetProperty("code").GetString());
        var location = r.Headers.Location!.ToString();
        Assert.StartsWith(G, location);
        var count = 0;
        var url = location;
        while (true)
        {
            using var doc = await SimHarness.GetJson(_http, url);
            count += doc.RootElement.GetProperty("value").GetArrayLength();
            if (doc.RootElement.TryGetProperty("@odata.deltaLink", out _)) break;
            url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
        }
        using var truth = await _sim.GetStateAsync();
        Assert.True(count >= truth.RootElement.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("driveId").GetString() == drive));
    }

    [Fact]
    public async Task Directory_delta_with_an_expired_token_is_syncStateNotFound()
    {
        var url = $"{G}/users/delta";
        string link;
        while (true)
        {
            using var doc = await SimHarness.GetJson(_http, url);
            if (doc.RootElement.TryGetProperty("@odata.deltaLink", out var dl)) { link = dl.GetString()!; break; }
            url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
        }
        await SetFaults(new { rateDirectorySyncStateNotFound = 1.0 });
        var r = await _http.GetAsync(link);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("syncStateNotFound", await r.Content.ReadAsStringAsync());
        await SetFaults(new { script = new[] { "410dir" } });
        var gone = await _http.GetAsync(link);
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        Assert.NotNull(gone.Headers.Location);
        // a token this tenant never issued (different seed) is also syncStateNotFound
        await SetFaults(new { });
        var foreignToken = new Cursor(CursorKind.Users, 0, 0, 0, 0, 0, Cursor.RoundStart, null).Encode(_sim.Core.TenantTag ^ 0x5A5A, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var foreign = await _http.GetAsync($"{G}/users/delta?$deltatoken={foreignToken}");
        Assert.Contains("syncStateNotFound", await foreign.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Connection_reset_mid_body_and_5xx_faults()
    {
        await SetFaults(new { script = new[] { "reset", "500", "504", "503" } });
        await Assert.ThrowsAnyAsync<HttpRequestException>(async () =>
        {
            using var r = await _http.GetAsync($"{G}/users/delta");
            await r.Content.ReadAsStringAsync();
        });
        Assert.Equal(HttpStatusCode.InternalServerError, (await _http.GetAsync($"{G}/sites/root")).StatusCode);
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await _http.GetAsync($"{G}/sites/root")).StatusCode);
        var r503 = await _http.GetAsync($"{G}/sites/root");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r503.StatusCode);
        Assert.NotNull(r503.Headers.RetryAfter);
        var s = await Stats();
        Assert.Equal(1, s.GetProperty("resets").GetInt64());
    }

    [Fact]
    public async Task Inner_batch_429_has_its_own_retry_after()
    {
        await SetFaults(new { script = new[] { "batch429" }, retryAfterSeconds = 3 });
        var body = JsonSerializer.Serialize(new { requests = Enumerable.Range(1, 5).Select(i => new { id = i.ToString(), method = "GET", url = "/sites/root" }) });
        var r = await _http.PostAsync($"{G}/$batch", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var throttled = doc.RootElement.GetProperty("responses").EnumerateArray().Where(x => x.GetProperty("status").GetInt32() == 429).ToList();
        Assert.Single(throttled);
        Assert.Equal("3", throttled[0].GetProperty("headers").GetProperty("Retry-After").GetString());
    }

    [Fact]
    public async Task Outer_faults_hit_the_whole_batch()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await RestartOnAsync(clock);
        await SetFaults(new { script = new[] { "429@/$batch" }, retryAfterSeconds = 1 });
        var body = JsonSerializer.Serialize(new { requests = new[] { new { id = "1", method = "GET", url = "/sites/root" } } });
        var r = await _http.PostAsync($"{G}/$batch", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode)429, r.StatusCode);
        Assert.NotNull(r.Headers.RetryAfter);
        clock.Advance(TimeSpan.FromSeconds(1)); // the client honours Retry-After: 1
        var ok = await _http.PostAsync($"{G}/$batch", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(0, (await Stats()).GetProperty("requestsDuringRetryAfter").GetInt64());
    }

    [Fact]
    public async Task Resource_unit_budget_throttles_and_reports_ratelimit_headers()
    {
        var drive = FirstDrive();
        using var truth = await _sim.GetStateAsync();
        var item = truth.RootElement.GetProperty("permissions")[0].GetProperty("itemId").GetString();
        var pdrive = truth.RootElement.GetProperty("permissions")[0].GetProperty("driveId").GetString();
        await SetFaults(new { ruBudgetPerMinute = 12 });
        var before = (await Stats()).GetProperty("sharePointResourceUnits").GetInt64();
        var a = await _http.GetAsync($"{G}/drives/{pdrive}/items/{item}/permissions"); // 5
        var b = await _http.GetAsync($"{G}/drives/{pdrive}/items/{item}/permissions"); // 10 (≥ 80 %)
        var c = await _http.GetAsync($"{G}/drives/{pdrive}/items/{item}/permissions"); // 15 > 12
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.True(b.Headers.Contains("RateLimit-Remaining"));
        Assert.Equal("12", b.Headers.GetValues("RateLimit-Limit").Single());
        Assert.Equal((HttpStatusCode)429, c.StatusCode);
        Assert.NotNull(c.Headers.RetryAfter?.Delta);
        Assert.Equal("5", a.Headers.GetValues("x-ms-resource-unit").Single());
        var s = await Stats();
        Assert.Equal(before + 15, s.GetProperty("sharePointResourceUnits").GetInt64());
        Assert.True(s.GetProperty("requestsByEndpoint").GetProperty("drives/{id}/items/{id}/permissions").GetInt64() >= 3);
    }

    [Fact]
    public async Task Latency_is_applied()
    {
        var clock = new WaitingFakeTime();
        await RestartOnAsync(clock);
        await SetFaults(new { latencyMinMs = 300, latencyMaxMs = 320 });
        clock.Forget();
        var response = _http.GetAsync($"{G}/sites/root");

        // The answer waits on the simulator's clock for the configured latency, and comes once that time has passed.
        var latency = await clock.NextWaitAsync();
        Assert.InRange(latency, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(320));
        Assert.False(response.IsCompleted);
        clock.Advance(latency);
        (await response).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task OneDrive_error_variants_behind_a_switch()
    {
        await SetFaults(new { oneDriveErrorVariants = true });
        using var truth = await _sim.GetStateAsync();
        var owners = truth.RootElement.GetProperty("drives").EnumerateArray().Select(d => d.GetProperty("ownerId")).Where(o => o.ValueKind == JsonValueKind.String).Select(o => o.GetString()).ToHashSet();
        var codes = new HashSet<int>();
        foreach (var u in truth.RootElement.GetProperty("users").EnumerateArray().Where(u => !u.GetProperty("deleted").GetBoolean() && !owners.Contains(u.GetProperty("id").GetString())))
            codes.Add((int)(await _http.GetAsync($"{G}/users/{u.GetProperty("id").GetString()}/drive")).StatusCode);
        Assert.True(codes.Count >= 2, string.Join(",", codes));
        Assert.DoesNotContain(200, codes);
    }
}
