using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sentinel.GraphSimulator;

/// <summary>The simulator hosted over HTTPS (Kestrel) — in-process for tests, or from Program for the CLI.</summary>
public sealed class SimulatorInstance : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Simulator _sim;
    private readonly CancellationTokenSource _stop = new();
    private Task? _ticker;

    private SimulatorInstance(WebApplication app, Simulator sim)
    {
        _app = app;
        _sim = sim;
    }

    public string BaseUrl => _sim.DefaultBaseUrl;
    public string EntraInstance => BaseUrl + "/";
    public string GraphBaseUrl => BaseUrl + "/v1.0";
    public string Authority => $"{BaseUrl}/{TenantId}";
    public string CaFile { get; private set; } = "";
    public string TenantId => _sim.TenantId;
    public string ClientId => _sim.ClientId;
    public string ClientSecret => _sim.ClientSecret;
    public string TenantDomain => _sim.Options.TenantDomain;
    public SimulatorOptions Options => _sim.Options;
    public SimStats Stats => _sim.Faults.Stats;
    internal Simulator Core => _sim;

    public static async Task<SimulatorInstance> StartAsync(SimulatorOptions o, CancellationToken ct = default) => await StartAsync(o, null, ct);

    public static async Task<SimulatorInstance> StartAsync(SimulatorOptions o, TimeProvider? time, CancellationToken ct = default)
    {
        if (ClientApp.Check(o.ClientApps, o.ClientId) is { } badApps) throw new ArgumentException(badApps);
        var sim = new Simulator(o, time);
        var publicHost = o.PublicUrl is not null && Uri.TryCreate(o.PublicUrl, UriKind.Absolute, out var pu) ? pu.Host : null;
        var (cert, caFile) = Certificates.LoadOrCreate(o.CertDir, o.Host, publicHost);
        if (o.CaExportDir is { Length: > 0 } export) caFile = Certificates.ExportCa(caFile, export);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(SimulatorInstance).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        if (o.Verbose) builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Information);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            var ip = o.Host is "0.0.0.0" or "*" ? IPAddress.Any : o.Host is "::" ? IPAddress.IPv6Any : IPAddress.TryParse(o.Host, out var a) ? a : IPAddress.Loopback;
            k.Listen(ip, o.Port, l =>
            {
                l.Protocols = HttpProtocols.Http1AndHttp2;
                l.UseHttps(cert);
            });
        });
        var app = builder.Build();
        var instance = new SimulatorInstance(app, sim) { CaFile = caFile };
        instance.Map();
        await app.StartAsync(ct);
        var addr = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(addr.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "127.0.0.1")).Port;
        var host = o.Host is "0.0.0.0" or "*" or "::" ? "127.0.0.1" : o.Host;
        sim.BaseUrl = o.PublicUrl?.TrimEnd('/') ?? $"https://{host}:{port}";
        if (o.MutatePerTick > 0 && o.MutateIntervalSeconds > 0) instance._ticker = instance.TickAsync();
        return instance;
    }

    private async Task TickAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_sim.Options.MutateIntervalSeconds), _sim.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token)) await MutateAsync(_sim.Options.MutatePerTick);
        }
        catch (OperationCanceledException) { }
    }

    // ---------------------------------------------------------------- in-process API (same data as /_sim)
    public async Task<IReadOnlyList<MutationRecord>> MutateAsync(int count, int? seed = null, string[]? kinds = null, CancellationToken ct = default,
        string? target = null)
    {
        await _sim.MutationGate.WaitAsync(ct);
        try
        {
            _sim.Lock.EnterWriteLock();
            try { return Mutations.Apply(_sim, count, seed, kinds, target); }
            finally { _sim.Lock.ExitWriteLock(); }
        }
        finally { _sim.MutationGate.Release(); }
    }

    /// <summary>An app-role assignment change: <see cref="Role"/> null removes the user's assignment.</summary>
    public sealed record AppRoleChange(string? Role);

    /// <summary>
    /// Disables/enables an account or changes its app-role assignment, as an admin would in Entra. Tokens already issued stay
    /// valid until they expire; the next refresh-token redemption sees the change (refused when disabled, new roles otherwise).
    /// </summary>
    public async Task SetUserAccessAsync(string upn, bool? accountEnabled, AppRoleChange? appRole, CancellationToken ct = default)
    {
        if (appRole?.Role is { } r && r is not ("Sentinel.Reader" or "Sentinel.Operator" or "Sentinel.Admin"))
            throw new ArgumentException($"appRole must be Sentinel.Reader, Sentinel.Operator, Sentinel.Admin or empty, got '{r}'");
        await _sim.MutationGate.WaitAsync(ct);
        try
        {
            _sim.Lock.EnterWriteLock();
            try
            {
                var u = _sim.Tenant.Users.FirstOrDefault(x => x.Upn.Equals(upn, StringComparison.OrdinalIgnoreCase) && !x.Deleted)
                    ?? throw new ArgumentException($"no user '{upn}' in the tenant");
                if (accountEnabled is { } enabled && u.Enabled != enabled)
                {
                    u.Enabled = enabled;
                    u.Seq = ++_sim.Tenant.Seq;
                }
                if (appRole is not null) u.AppRole = appRole.Role;
            }
            finally { _sim.Lock.ExitWriteLock(); }
        }
        finally { _sim.MutationGate.Release(); }
    }

    /// <summary>The other app registrations that call the Sentinel API as themselves (client credentials, app roles).</summary>
    public IReadOnlyList<ClientApp> ClientApps => _sim.Options.ClientApps;

    /// <summary>The app manifest's api.requestedAccessTokenVersion (1 or 2), changeable while running.</summary>
    public int RequestedAccessTokenVersion
    {
        get => _sim.Options.RequestedAccessTokenVersion;
        set => _sim.Options.RequestedAccessTokenVersion = value is 1 or 2 ? value : throw new ArgumentException("requestedAccessTokenVersion must be 1 or 2");
    }

    public FaultConfig Faults
    {
        get => _sim.Faults.Config;
        set => _sim.Faults.Config = value;
    }

    public void ResetStats() => _sim.Faults.Stats.Reset();

    /// <summary>The ground truth JSON (same as GET /_sim/state).</summary>
    public async Task WriteStateAsync(Stream output, CancellationToken ct = default)
    {
        await _sim.MutationGate.WaitAsync(ct);
        try { await GroundTruth.WriteAsync(_sim.Tenant, output, ct); }
        finally { _sim.MutationGate.Release(); }
    }

    public async Task<JsonDocument> GetStateAsync(CancellationToken ct = default)
    {
        using var ms = new MemoryStream();
        await WriteStateAsync(ms, ct);
        ms.Position = 0;
        return await JsonDocument.ParseAsync(ms, cancellationToken: ct);
    }

    /// <summary>A fresh app-only Graph token (what client credentials would return).</summary>
    public string IssueGraphToken() => _sim.Identity.GraphAppToken();

    // ---------------------------------------------------------------- routes
    private static readonly JsonSerializerOptions CamelJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    private void Map()
    {
        var sim = _sim;
        var id = sim.Identity;
        _app.Use((ctx, next) => { sim.BindRequest(ctx); return next(ctx); });
        _app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (HttpContext c, string tenant) => Count(c, "openid-configuration", () => id.Discovery(c, tenant)));
        _app.MapGet("/{tenant}/.well-known/openid-configuration", (HttpContext c, string tenant) => Count(c, "openid-configuration-v1", () => id.DiscoveryV1(c, tenant)));
        _app.MapGet("/{tenant}/discovery/v2.0/keys", (HttpContext c, string tenant) => Count(c, "keys", () => id.Keys(c, tenant)));
        _app.MapGet("/{tenant}/discovery/keys", (HttpContext c, string tenant) => Count(c, "keys", () => id.Keys(c, tenant)));
        _app.MapGet("/{tenant}/oauth2/v2.0/authorize", (HttpContext c, string tenant) => Count(c, "authorize", () => id.AuthorizeGet(c, tenant)));
        _app.MapPost("/{tenant}/oauth2/v2.0/authorize", (HttpContext c, string tenant) => Count(c, "authorize", () => id.AuthorizePost(c, tenant)));
        _app.MapPost("/{tenant}/oauth2/v2.0/token", (HttpContext c, string tenant) => Count(c, "token", () => id.Token(c, tenant)));
        _app.MapGet("/{tenant}/oauth2/v2.0/logout", (HttpContext c, string tenant) => Count(c, "logout", () => id.Logout(c, tenant)));
        _app.MapPost("/{tenant}/oauth2/v2.0/logout", (HttpContext c, string tenant) => Count(c, "logout", () => id.Logout(c, tenant)));

        _app.Map("/v1.0/{**rest}", (HttpContext c) => sim.HandleGraph(c));
        _app.Map("/v1.0", (HttpContext c) => sim.HandleGraph(c));

        _app.MapGet("/_sim/state", async (HttpContext c) =>
        {
            c.Response.ContentType = "application/json; charset=utf-8";
            await WriteStateAsync(c.Response.Body, c.RequestAborted);
        });
        _app.MapPost("/_sim/mutate", async (HttpContext c) =>
        {
            MutateRequest? body = null;
            if (c.Request.ContentLength is > 0 || c.Request.Headers.TransferEncoding.Count > 0)
            {
                try { body = await JsonSerializer.DeserializeAsync<MutateRequest>(c.Request.Body, CamelJson); }
                catch (JsonException e) { return Results.BadRequest(new { error = "invalid JSON: " + e.Message }); }
            }
            body ??= new MutateRequest();
            if (body.Count is < 0 or > 1_000_000) return Results.BadRequest(new { error = "count must be between 0 and 1000000" });
            try
            {
                var applied = await MutateAsync(body.Count ?? 10, body.Seed, body.Kinds, c.RequestAborted, body.Target);
                return Results.Json(new { applied = applied.Count, sequence = sim.Tenant.Seq, mutations = applied }, CamelJson);
            }
            catch (ArgumentException e) { return Results.BadRequest(new { error = e.Message }); }
        });
        // Directory changes an admin makes in the Entra admin center: disable an account, assign or remove the app role.
        _app.MapPost("/_sim/identity/users/{upn}", async (HttpContext c, string upn) =>
        {
            UserAccessRequest? body;
            try { body = await JsonSerializer.DeserializeAsync<UserAccessRequest>(c.Request.Body, CamelJson); }
            catch (JsonException e) { return Results.BadRequest(new { error = "invalid JSON: " + e.Message }); }
            if (body is null) return Results.BadRequest(new { error = "body: send {accountEnabled?, appRole?}" });
            try
            {
                await SetUserAccessAsync(upn, body.AccountEnabled, body.AppRole is null ? null : new AppRoleChange(body.AppRole.Length == 0 ? null : body.AppRole));
                return Results.Json(new { upn, accountEnabled = body.AccountEnabled, appRole = body.AppRole }, CamelJson);
            }
            catch (ArgumentException e) { return Results.BadRequest(new { error = e.Message }); }
        });
        _app.MapGet("/_sim/faults", () => Results.Json(sim.Faults.Config, CamelJson));
        _app.MapPost("/_sim/faults", async (HttpContext c) =>
        {
            FaultConfig? cfg;
            try { cfg = await JsonSerializer.DeserializeAsync<FaultConfig>(c.Request.Body, CamelJson); }
            catch (JsonException e) { return Results.BadRequest(new { error = "invalid JSON: " + e.Message }); }
            sim.Faults.Config = cfg ?? new FaultConfig();
            return Results.Json(sim.Faults.Config, CamelJson);
        });
        _app.MapGet("/_sim/stats", () => Results.Json(sim.Faults.Stats.Snapshot(), CamelJson));
        _app.MapPost("/_sim/stats/reset", () => { sim.Faults.Stats.Reset(); return Results.Json(sim.Faults.Stats.Snapshot(), CamelJson); });
        _app.MapGet("/_sim/info", () => Results.Json(new
        {
            baseUrl = sim.BaseUrl, graphBaseUrl = sim.GraphBaseUrl, entraInstance = sim.BaseUrl + "/", tenantId = sim.TenantId, clientId = sim.ClientId,
            tenantDomain = sim.Options.TenantDomain, profile = sim.Options.Profile, seed = sim.Options.Seed, caFile = CaFile,
            users = sim.Tenant.Users.Count, groups = sim.Tenant.Groups.Count, sites = sim.Tenant.Sites.Count, drives = sim.Tenant.Drives.Count, items = sim.Tenant.ItemCount,
            sequence = sim.Tenant.Seq,
            // the simulator's own collections (benches read them around a phase: its pauses stall every answer)
            gc = new { gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2), pauseMs = GC.GetTotalPauseDuration().TotalMilliseconds },
        }, CamelJson));
        _app.MapGet("/", () => Results.Text($"Sentinel tenant simulator ({sim.Options.Profile}, seed {sim.Options.Seed}). Graph: {sim.GraphBaseUrl}  Entra: {sim.BaseUrl}/{sim.TenantId}  Admin: /_sim/state /_sim/mutate /_sim/faults /_sim/stats"));
    }

    private Task Count(HttpContext c, string endpoint, Func<Task> run)
    {
        Interlocked.Increment(ref _sim.Faults.Stats.Requests);
        _sim.Faults.Stats.RequestsByEndpoint.AddOrUpdate("identity/" + endpoint, 1, (_, v) => v + 1);
        return run();
    }

    private sealed class UserAccessRequest
    {
        public bool? AccountEnabled { get; set; }
        /// <summary>Sentinel.Reader / Sentinel.Operator / Sentinel.Admin, or "" to remove the assignment; absent = unchanged.</summary>
        public string? AppRole { get; set; }
    }

    private sealed class MutateRequest
    {
        public int? Count { get; set; }
        public int? Seed { get; set; }
        public string[]? Kinds { get; set; }
        /// <summary>Apply the (permission) mutations to this drive item instead of a random one.</summary>
        public string? Target { get; set; }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_ticker is not null) await _ticker;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stop.Dispose();
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);
}
