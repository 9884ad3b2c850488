using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Sentinel.GraphSimulator;

/// <summary>The simulator's state and request handling, independent of hosting.</summary>
internal sealed class Simulator
{
    public SimulatorOptions Options { get; }
    public Tenant Tenant { get; private set; }
    public ReaderWriterLockSlim Lock { get; } = new(LockRecursionPolicy.NoRecursion);
    /// <summary>Held by mutations and by ground-truth streaming (which must not see half a mutation).</summary>
    public SemaphoreSlim MutationGate { get; } = new(1, 1);
    public FaultEngine Faults { get; }
    public Jwt Jwt { get; }
    public TimeProvider Time { get; }
    public Identity Identity { get; }
    public GraphApi Graph { get; }
    private static readonly AsyncLocal<string?> RequestBase = new();
    private string _baseUrl = "";

    /// <summary>
    /// The base URL links, issuers and endpoints use: --public-url when set, otherwise the scheme+Host the current request
    /// arrived with (so https://simulator:5443 in compose and https://localhost:5443 in a browser both work), otherwise
    /// https://{host}:{port}.
    /// </summary>
    public string BaseUrl
    {
        get => RequestBase.Value ?? _baseUrl;
        set => _baseUrl = value;
    }

    public string DefaultBaseUrl => _baseUrl;

    public void BindRequest(HttpContext ctx)
    {
        if (Options.PublicUrl is not null || !ctx.Request.Host.HasValue) { RequestBase.Value = null; return; }
        RequestBase.Value = "https://" + ctx.Request.Host.Value;
    }
    public string GraphBaseUrl => BaseUrl + "/v1.0";
    public string TenantId => Options.TenantId;
    public string ClientId => Options.ClientId;
    public string ClientSecret => Options.ClientSecret;
    public int TenantTag { get; }
    public long MutationCounter;
    private readonly ConcurrentDictionary<string, long> _tokenCache = new();
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public Simulator(SimulatorOptions options, TimeProvider? time = null)
    {
        Options = options;
        Time = time ?? TimeProvider.System;
        Tenant = Generator.Build(options);
        TenantTag = (int)Rng.Hash((ulong)options.Seed, StableHash(options.Profile.ToLowerInvariant()) ^ (ulong)Tenant.ItemCount);
        Faults = new FaultEngine(Time);
        if (options.Faults is not null) Faults.Config = options.Faults;
        Jwt = new Jwt(options.CertDir);
        Identity = new Identity(this);
        Graph = new GraphApi(this);
    }

    private static ulong StableHash(string s)
    {
        ulong h = 1469598103934665603UL;
        foreach (var c in s) h = (h ^ c) * 1099511628211UL;
        return h;
    }

    // ---------------------------------------------------------------- Graph pipeline
    public async Task HandleGraph(HttpContext ctx)
    {
        Interlocked.Increment(ref Faults.Stats.Requests);
        Interlocked.Increment(ref Faults.Stats.GraphRequests);
        Faults.NoteArrival();
        var path = ctx.Request.Path.Value ?? "/";
        path = path.Length > 5 ? path[5..] : "/"; // strip /v1.0
        var auth = CheckToken(ctx.Request.Headers.Authorization.ToString());
        if (auth == NoGraphPermission)
        {
            // An app-only token without any Graph application permission (another app registration of the tenant): Graph's
            // answer to a call the token does not grant.
            Count("403");
            var r403 = new GraphResponse();
            using (var w = new Utf8JsonWriter(r403.Body, WriterOptions)) GraphApi.WriteError(r403, w, 403, "Authorization_RequestDenied", NoGraphPermission);
            await Send(ctx, r403, reset: false);
            return;
        }
        if (auth is not null)
        {
            Interlocked.Increment(ref Faults.Stats.Unauthorized401);
            Count("401");
            var r401 = new GraphResponse();
            using (var w = new Utf8JsonWriter(r401.Body, WriterOptions)) GraphApi.WriteError(r401, w, 401, "InvalidAuthenticationToken", auth);
            r401.Headers.Add(new("WWW-Authenticate", "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""));
            await Send(ctx, r401, reset: false);
            return;
        }

        if (path.Equals("/$batch", StringComparison.OrdinalIgnoreCase) && ctx.Request.Method == "POST")
        {
            await HandleBatch(ctx);
            return;
        }

        var req = new GraphRequest { Method = ctx.Request.Method, Path = path, Prefer = ctx.Request.Headers["Prefer"].ToString() };
        foreach (var kv in ctx.Request.Query) req.Query[kv.Key] = kv.Value.ToString();
        var resp = await Execute(req, top: true, fault: null);
        try { await Send(ctx, resp.Response, resp.Reset); }
        finally { resp.Response.Dispose(); }
    }

    private void Count(string endpoint) => Faults.Stats.RequestsByEndpoint.AddOrUpdate(endpoint, 1, (_, v) => v + 1);

    /// <summary>Routes, charges RU, applies faults and runs one Graph request (top level or inside a batch).</summary>
    private async Task<(GraphResponse Response, bool Reset)> Execute(GraphRequest req, bool top, FaultKind? fault)
    {
        Route route;
        Lock.EnterReadLock();
        try { route = Graph.Resolve(req); }
        finally { Lock.ExitReadLock(); }
        Count(route.Endpoint);
        var resp = new GraphResponse();
        var kind = fault ?? (top && Faults.Any || route.DriveDeltaWithToken || route.DirDeltaWithToken
            ? Faults.Pick(req.Path, route.DriveDeltaWithToken, route.DirDeltaWithToken, isBatch: false) : FaultKind.None);
        var charge = Faults.Charge(route.Ru, route.SharePoint);
        resp.Headers.Add(new("x-ms-resource-unit", route.Ru.ToString()));
        if (charge.RateLimit is { } rl)
        {
            resp.Headers.Add(new("RateLimit-Limit", rl.Limit.ToString()));
            resp.Headers.Add(new("RateLimit-Remaining", rl.Remaining.ToString()));
            resp.Headers.Add(new("RateLimit-Reset", rl.Reset.ToString()));
        }
        if (charge.Throttled && kind == FaultKind.None) return (Throttle(resp, 429, Faults.IssueRetryAfter(seconds: charge.RetryAfter), "activityLimitReached", "The request has been throttled"), false);
        if (Faults.TargetErrorFor(req.Path) is { } targetError)
        {
            Count("target-error");
            return (Simple(resp, targetError.Status, targetError.Code, targetError.Message), false);
        }
        if (top)
        {
            var latency = Faults.LatencyMs() + (kind == FaultKind.Slow ? 2000 : 0);
            if (latency > 0) await Task.Delay(TimeSpan.FromMilliseconds(latency), Time);
        }
        switch (kind)
        {
            case FaultKind.T429: return (Throttle(resp, 429, Faults.IssueRetryAfter(dateForm: false), "TooManyRequests", "Too many requests"), false);
            case FaultKind.T429Date: return (Throttle(resp, 429, Faults.IssueRetryAfter(dateForm: true), "TooManyRequests", "Too many requests"), false);
            case FaultKind.T503: Interlocked.Increment(ref Faults.Stats.Served503); return (Throttle(resp, 503, Faults.IssueRetryAfter(), "serviceNotAvailable", "Service unavailable"), false);
            case FaultKind.T500: Interlocked.Increment(ref Faults.Stats.Served500); return (Simple(resp, 500, "generalException", "An unspecified error has occurred."), false);
            case FaultKind.T504: Interlocked.Increment(ref Faults.Stats.Served504); return (Simple(resp, 504, "UnknownError", "Gateway timeout"), false);
            case FaultKind.Resync410 when route.DriveDeltaWithToken:
            {
                Lock.EnterReadLock();
                try
                {
                    var segs = req.Path.Trim('/').Split('/');
                    if (Tenant.DriveById.TryGetValue(segs[1], out var di))
                    {
                        using var w = new Utf8JsonWriter(resp.Body, WriterOptions);
                        Graph.WriteResync(resp, w, Tenant.Drives[di]);
                        return (resp, false);
                    }
                }
                finally { Lock.ExitReadLock(); }
                break;
            }
            case FaultKind.SyncStateNotFound when route.DirDeltaWithToken:
                Interlocked.Increment(ref Faults.Stats.SyncStateNotFound);
                return (Simple(resp, 400, "syncStateNotFound", "The sync state is not found or has expired. Please perform a full sync."), false);
            case FaultKind.Resync410Dir when route.DirDeltaWithToken:
            {
                Interlocked.Increment(ref Faults.Stats.Resyncs410);
                Lock.EnterReadLock();
                try { resp.Headers.Add(new("Location", Graph.DirectoryResyncLink(route.Endpoint.StartsWith("users")))); }
                finally { Lock.ExitReadLock(); }
                return (Simple(resp, 410, "Gone", "Resync is required: perform a full synchronization."), false);
            }
        }
        Lock.EnterReadLock();
        try
        {
            using var w = new Utf8JsonWriter(resp.Body, WriterOptions);
            resp.Status = route.Status;
            route.Run!(resp, w);
        }
        finally { Lock.ExitReadLock(); }
        return (resp, kind == FaultKind.Reset);
    }

    private GraphResponse Throttle(GraphResponse resp, int status, string retryAfter, string code, string message)
    {
        if (status == 429) Interlocked.Increment(ref Faults.Stats.Throttled429);
        resp.Headers.Add(new("Retry-After", retryAfter));
        return Simple(resp, status, code, message);
    }

    private static GraphResponse Simple(GraphResponse resp, int status, string code, string message)
    {
        resp.Body.Clear();
        using var w = new Utf8JsonWriter(resp.Body, WriterOptions);
        GraphApi.WriteError(resp, w, status, code, message);
        return resp;
    }

    private async Task Send(HttpContext ctx, GraphResponse resp, bool reset)
    {
        ctx.Response.StatusCode = resp.Status;
        foreach (var (k, v) in resp.Headers) ctx.Response.Headers.Append(k, v);
        ctx.Response.Headers["request-id"] = Guid.NewGuid().ToString();
        ctx.Response.ContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
        ctx.Response.ContentLength = resp.Body.WrittenCount;
        if (reset)
        {
            Interlocked.Increment(ref Faults.Stats.Resets);
            var half = Math.Max(1, resp.Body.WrittenCount / 2);
            await ctx.Response.Body.WriteAsync(resp.Body.WrittenMemory[..Math.Min(half, resp.Body.WrittenCount)]);
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
            return;
        }
        await ctx.Response.Body.WriteAsync(resp.Body.WrittenMemory);
    }

    private const string NoGraphPermission = "Insufficient privileges to complete the operation.";

    /// <summary>Null when the bearer token is an app-only Graph token of this tenant; <see cref="NoGraphPermission"/> when it grants no
    /// Graph permission (403); otherwise the 401 message.</summary>
    private string? CheckToken(string header)
    {
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return "Access token is empty.";
        var token = header[7..].Trim();
        if (token.Length == 0) return "Access token is empty.";
        var now = Time.GetUtcNow().ToUnixTimeSeconds();
        if (_tokenCache.TryGetValue(token, out var exp)) return exp > now ? null : "Lifetime validation failed, the token is expired.";
        var payload = Jwt.Validate(token);
        if (payload is null) return "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.";
        var aud = payload["aud"]?.GetValue<string>();
        if (aud is not ("https://graph.microsoft.com" or "00000003-0000-0000-c000-000000000000")) return "Access token validation failure. Invalid audience.";
        if (payload["iss"]?.GetValue<string>() != $"https://sts.windows.net/{TenantId}/") return "Access token validation failure. Invalid issuer.";
        if (payload["idtyp"]?.GetValue<string>() != "app") return "Access token validation failure. This simulator only accepts app-only tokens.";
        if (payload["roles"] is not JsonArray { Count: > 0 }) return NoGraphPermission;
        var e = payload["exp"]?.GetValue<long>() ?? 0;
        if (e <= now) return "Lifetime validation failed, the token is expired.";
        if (_tokenCache.Count > 10_000) _tokenCache.Clear();
        _tokenCache[token] = e;
        return null;
    }

    // ---------------------------------------------------------------- $batch
    private async Task HandleBatch(HttpContext ctx)
    {
        Count("$batch");
        JsonDocument doc;
        try { doc = await JsonDocument.ParseAsync(ctx.Request.Body); }
        catch (JsonException) { await Send(ctx, Simple(new GraphResponse(), 400, "BadRequest", "Invalid JSON body."), false); return; }
        using var _ = doc;
        if (!doc.RootElement.TryGetProperty("requests", out var reqs) || reqs.ValueKind != JsonValueKind.Array)
        { await Send(ctx, Simple(new GraphResponse(), 400, "BadRequest", "Write request id : requests is required."), false); return; }
        if (reqs.GetArrayLength() > 20)
        { await Send(ctx, Simple(new GraphResponse(), 400, "BadRequest", "Number of batch request steps exceeds the maximum of 20."), false); return; }
        var ids = new HashSet<string>();
        var parsed = new List<(string Id, GraphRequest Req, string[] DependsOn)>();
        foreach (var r in reqs.EnumerateArray())
        {
            var id = r.TryGetProperty("id", out var idEl) ? idEl.ToString() : "";
            if (id.Length == 0 || !ids.Add(id))
            { await Send(ctx, Simple(new GraphResponse(), 400, "BadRequest", id.Length == 0 ? "Batch request id is required." : $"Batch request ids must be unique: '{id}'."), false); return; }
            var url = r.TryGetProperty("url", out var u) ? u.GetString() ?? "" : "";
            if (url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            { await Send(ctx, Simple(new GraphResponse(), 400, "BadRequest", "Relative URL expected in batch request."), false); return; }
            var method = r.TryGetProperty("method", out var m) ? m.GetString() ?? "GET" : "GET";
            var gr = new GraphRequest { Method = method.ToUpperInvariant(), InBatch = true };
            if (url.StartsWith("/v1.0", StringComparison.OrdinalIgnoreCase)) url = url[5..];
            if (!url.StartsWith('/')) url = "/" + url;
            var qi = url.IndexOf('?');
            gr.Path = Uri.UnescapeDataString(qi < 0 ? url : url[..qi]);
            if (qi >= 0) foreach (var kv in QueryHelpers.ParseQuery(url[qi..])) gr.Query[kv.Key] = kv.Value.ToString();
            if (r.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
                foreach (var hp in h.EnumerateObject()) if (hp.Name.Equals("Prefer", StringComparison.OrdinalIgnoreCase)) gr.Prefer = hp.Value.GetString();
            var deps = r.TryGetProperty("dependsOn", out var d) && d.ValueKind == JsonValueKind.Array ? d.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
            parsed.Add((id, gr, deps));
        }
        var outerKind = Faults.Any ? Faults.Pick("/$batch", false, false, isBatch: true) : FaultKind.None;
        var first429 = outerKind == FaultKind.Batch429;
        var latency = Faults.LatencyMs() + (outerKind == FaultKind.Slow ? 2000 : 0);
        if (latency > 0) await Task.Delay(TimeSpan.FromMilliseconds(latency), Time);
        // faults aimed at the whole batch request
        GraphResponse? outerFault = outerKind switch
        {
            FaultKind.T429 => Throttle(new GraphResponse(), 429, Faults.IssueRetryAfter(dateForm: false), "TooManyRequests", "Too many requests"),
            FaultKind.T429Date => Throttle(new GraphResponse(), 429, Faults.IssueRetryAfter(dateForm: true), "TooManyRequests", "Too many requests"),
            FaultKind.T503 => Throttle(new GraphResponse(), 503, Faults.IssueRetryAfter(), "serviceNotAvailable", "Service unavailable"),
            FaultKind.T500 => Simple(new GraphResponse(), 500, "generalException", "An unspecified error has occurred."),
            FaultKind.T504 => Simple(new GraphResponse(), 504, "UnknownError", "Gateway timeout"),
            _ => null,
        };
        if (outerFault is not null)
        {
            if (outerKind == FaultKind.T503) Interlocked.Increment(ref Faults.Stats.Served503);
            if (outerKind == FaultKind.T500) Interlocked.Increment(ref Faults.Stats.Served500);
            if (outerKind == FaultKind.T504) Interlocked.Increment(ref Faults.Stats.Served504);
            try { await Send(ctx, outerFault, false); }
            finally { outerFault.Dispose(); }
            return;
        }
        var results = new List<(string Id, GraphResponse Resp)>();
        var status = new Dictionary<string, int>();
        foreach (var (id, gr, deps) in parsed)
        {
            Interlocked.Increment(ref Faults.Stats.BatchInnerRequests);
            GraphResponse resp;
            if (deps.Any(x => !status.TryGetValue(x, out var s) || s >= 400))
                resp = Simple(new GraphResponse(), 424, "FailedDependency", "The request was not executed because a dependency failed.");
            else if (first429 || Faults.InnerBatch429())
            {
                first429 = false;
                Count("batch-inner-429");
                resp = Throttle(new GraphResponse(), 429, Faults.IssueRetryAfter(dateForm: false), "TooManyRequests", "Too many requests");
            }
            else resp = (await Execute(gr, top: false, fault: null)).Response;
            status[id] = resp.Status;
            results.Add((id, resp));
        }
        // responses come back in any order
        for (var k = results.Count - 1; k > 0; k--)
        {
            var j = Faults.Shuffle(k + 1);
            (results[k], results[j]) = (results[j], results[k]);
        }
        var outer = new GraphResponse();
        using (var w = new Utf8JsonWriter(outer.Body, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteStartArray("responses");
            foreach (var (id, resp) in results)
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteNumber("status", resp.Status);
                w.WriteStartObject("headers");
                foreach (var (k, v) in resp.Headers) w.WriteString(k, v);
                w.WriteString("Content-Type", "application/json; charset=utf-8");
                w.WriteEndObject();
                w.WritePropertyName("body");
                if (resp.Body.WrittenCount > 0) w.WriteRawValue(resp.Body.WrittenSpan, skipInputValidation: true);
                else w.WriteNullValue();
                w.WriteEndObject();
                resp.Dispose();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        try { await Send(ctx, outer, outerKind == FaultKind.Reset); }
        finally { outer.Dispose(); }
    }
}
