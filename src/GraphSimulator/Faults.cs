using System.Collections.Concurrent;
using System.Text.Json.Serialization;

namespace Sentinel.GraphSimulator;

/// <summary>Fault settings (GET/POST /_sim/faults, camelCase JSON). Probabilities are per Graph request (0..1).</summary>
public sealed class FaultConfig
{
    public double Rate429 { get; set; }
    public double Rate503 { get; set; }
    public double Rate500 { get; set; }
    public double Rate504 { get; set; }
    /// <summary>Connection reset after part of the body was sent.</summary>
    public double RateReset { get; set; }
    /// <summary>Per inner request of a $batch: inner 429 with its own Retry-After.</summary>
    public double RateBatchInner429 { get; set; }
    /// <summary>Drive delta requests carrying a token: 410 resyncChangesApplyDifferences + Location.</summary>
    public double RateDriveResync { get; set; }
    /// <summary>Directory delta requests carrying a token: 400 syncStateNotFound.</summary>
    public double RateDirectorySyncStateNotFound { get; set; }
    public int RetryAfterSeconds { get; set; } = 1;
    /// <summary>Share of 429/503 whose Retry-After uses the HTTP-date form instead of seconds.</summary>
    public double RetryAfterHttpDateShare { get; set; }
    public int LatencyMinMs { get; set; }
    public int LatencyMaxMs { get; set; }
    /// <summary>SharePoint resource units per minute for this app; exceeding it → 429 + Retry-After. Null = unlimited.</summary>
    public int? RuBudgetPerMinute { get; set; }
    /// <summary>
    /// Scripted faults for the next matching Graph requests, consumed in order: "429", "429-date", "503", "500", "504",
    /// "reset", "slow" (2 s), "410" (drive delta with token), "syncStateNotFound" and "410dir" (directory delta with token),
    /// "batch429" (first inner request of the next batch), "ok". Suffix "@text" limits an entry to paths containing text.
    /// </summary>
    public List<string> Script { get; set; } = [];
    public int Seed { get; set; } = 1;
    /// <summary>Requests arriving this soon after a throttle response are in flight, not violations.</summary>
    public int RetryAfterGraceMs { get; set; } = 250;
    /// <summary>Arrivals this close to the end of the Retry-After window are not counted (client timers may fire ~1 ms early).</summary>
    public int RetryAfterToleranceMs { get; set; } = 100;
    /// <summary>Users without a OneDrive answer with the other observed variants (400/404 UnknownError, 403) instead of ResourceNotFound.</summary>
    public bool OneDriveErrorVariants { get; set; }
    /// <summary>Omit @microsoft.graph.sharedChanged when access was only removed (onedrive-api-docs#1248).</summary>
    public bool SharedChangedMissingOnRemoval { get; set; }
    /// <summary>
    /// Persistent per-target errors (while configured): every Graph request, top level or inside a $batch, whose path
    /// contains <see cref="TargetError.Match"/> answers with that status and code — a OneDrive answering 403/404/400 for a
    /// while, a locked (423) or vanished (404) site, a drive whose delta is refused.
    /// </summary>
    public List<TargetError> TargetErrors { get; set; } = [];
    /// <summary>
    /// Incremental drive delta rounds return changed items latest-first (children before their parents) and without
    /// their parent chain — Graph does not order a round (driveItem delta: "only delete a folder locally if it is empty
    /// after syncing all the changes"; the deltaExcludeParent header drops the parents).
    /// </summary>
    public bool DriveDeltaChildrenFirst { get; set; }
    /// <summary>
    /// Full (first or resync) drive rounds come latest-created first: children before their parents, across pages. The
    /// docs promise no order (GRAPH_FACTS §2); that an initial enumeration comes so is a guess (they are usually parents
    /// first).
    /// </summary>
    public bool DriveFullRoundChildrenFirst { get; set; }
    /// <summary>
    /// Full drive rounds start every page after the first with the previous page's last item again: "an item may appear
    /// more than once" in a round (GRAPH_FACTS §2); where in a round a repeat comes is a guess.
    /// </summary>
    public bool DriveFullRoundRepeats { get; set; }
    /// <summary>Overrides the drive delta page size (so one round's changes span several pages).</summary>
    public int? DrivePageSize { get; set; }

    public FaultConfig Clone()
    {
        var c = (FaultConfig)MemberwiseClone();
        c.Script = [.. Script];
        c.TargetErrors = [.. TargetErrors];
        return c;
    }
}

/// <summary>One persistent target error of <see cref="FaultConfig.TargetErrors"/>.</summary>
public sealed class TargetError
{
    /// <summary>Case-insensitive substring of the request path (e.g. "/users/{id}/drive", "/sites/{id}/drives").</summary>
    public string Match { get; set; } = "";
    public int Status { get; set; } = 403;
    public string Code { get; set; } = "accessDenied";
    public string Message { get; set; } = "Access denied";
}


/// <summary>Counters behind GET /_sim/stats.</summary>
public sealed class SimStats
{
    public ConcurrentDictionary<string, long> RequestsByEndpoint { get; } = new();
    public long Requests;
    public long GraphRequests;
    public long BatchInnerRequests;
    public long ResourceUnits;
    public long SharePointResourceUnits;
    public long DirectoryResourceUnits;
    public long Throttled429;
    public long Served503, Served500, Served504, Resets, Resyncs410, SyncStateNotFound, Unauthorized401;
    public long RequestsDuringRetryAfter;
    public long DriveItemsServed;
    public long TokensIssued;
    public long Mutations;

    public object Snapshot() => new
    {
        requests = Interlocked.Read(ref Requests),
        graphRequests = Interlocked.Read(ref GraphRequests),
        batchInnerRequests = Interlocked.Read(ref BatchInnerRequests),
        requestsByEndpoint = RequestsByEndpoint.OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(k => k.Key, k => k.Value),
        resourceUnits = Interlocked.Read(ref ResourceUnits),
        sharePointResourceUnits = Interlocked.Read(ref SharePointResourceUnits),
        directoryResourceUnits = Interlocked.Read(ref DirectoryResourceUnits),
        throttled429 = Interlocked.Read(ref Throttled429),
        served503 = Interlocked.Read(ref Served503),
        served500 = Interlocked.Read(ref Served500),
        served504 = Interlocked.Read(ref Served504),
        resets = Interlocked.Read(ref Resets),
        resyncs410 = Interlocked.Read(ref Resyncs410),
        syncStateNotFound = Interlocked.Read(ref SyncStateNotFound),
        unauthorized401 = Interlocked.Read(ref Unauthorized401),
        requestsDuringRetryAfter = Interlocked.Read(ref RequestsDuringRetryAfter),
        driveItemsServed = Interlocked.Read(ref DriveItemsServed),
        tokensIssued = Interlocked.Read(ref TokensIssued),
        mutations = Interlocked.Read(ref Mutations),
    };

    public void Reset()
    {
        RequestsByEndpoint.Clear();
        Requests = GraphRequests = BatchInnerRequests = ResourceUnits = SharePointResourceUnits = DirectoryResourceUnits = 0;
        Throttled429 = Served503 = Served500 = Served504 = Resets = Resyncs410 = SyncStateNotFound = Unauthorized401 = 0;
        RequestsDuringRetryAfter = DriveItemsServed = TokensIssued = Mutations = 0;
    }
}

internal enum FaultKind { None, T429, T429Date, T503, T500, T504, Reset, Slow, Resync410, SyncStateNotFound, Resync410Dir, Batch429 }

/// <summary>Decides faults, accounts resource units and tracks Retry-After windows.</summary>
internal sealed class FaultEngine(TimeProvider time)
{
    private readonly object _gate = new();
    private FaultConfig _config = new();
    private Rng _rng = new(1);
    private DateTimeOffset _windowStart = time.GetUtcNow();
    private long _windowRu;
    private DateTimeOffset _pendingUntil = DateTimeOffset.MinValue;
    private DateTimeOffset _pendingIssuedAt = DateTimeOffset.MinValue;
    public SimStats Stats { get; } = new();

    public FaultConfig Config
    {
        get { lock (_gate) return _config.Clone(); }
        set { lock (_gate) { _config = value.Clone(); _rng = new Rng((ulong)value.Seed); } }
    }

    public bool Any
    {
        get
        {
            var c = _config;
            return c.Script.Count > 0 || c.Rate429 > 0 || c.Rate503 > 0 || c.Rate500 > 0 || c.Rate504 > 0 || c.RateReset > 0 || c.LatencyMaxMs > 0;
        }
    }

    /// <summary>Counts a Graph request that arrives while a Retry-After we issued is still pending.</summary>
    public void NoteArrival()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (now < _pendingUntil && (_pendingUntil - now).TotalMilliseconds > _config.RetryAfterToleranceMs
                && (now - _pendingIssuedAt).TotalMilliseconds > _config.RetryAfterGraceMs)
                Stats.RequestsDuringRetryAfter++;
        }
    }

    /// <summary>Returns the Retry-After header value for a throttle response and records the pending window.</summary>
    public string IssueRetryAfter(bool? dateForm = null, int? seconds = null)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            var secs = Math.Max(1, seconds ?? _config.RetryAfterSeconds);
            var useDate = dateForm ?? (_config.RetryAfterHttpDateShare > 0 && _rng.NextDouble() < _config.RetryAfterHttpDateShare);
            DateTimeOffset until;
            string header;
            if (useDate)
            {
                // HTTP dates have whole seconds: the client may resume at the truncated instant
                until = new DateTimeOffset(now.AddSeconds(secs + 1).UtcDateTime.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
                header = until.ToString("r");
            }
            else
            {
                until = now.AddSeconds(secs);
                header = secs.ToString();
            }
            if (until > _pendingUntil) _pendingUntil = until;
            _pendingIssuedAt = now;
            return header;
        }
    }

    /// <summary>Picks the fault for a top-level Graph request (scripted entries first, then probabilities).</summary>
    public FaultKind Pick(string path, bool driveDeltaWithToken, bool dirDeltaWithToken, bool isBatch)
    {
        lock (_gate)
        {
            var c = _config;
            for (var k = 0; k < c.Script.Count; k++)
            {
                var entry = c.Script[k];
                var at = entry.IndexOf('@');
                var name = at < 0 ? entry : entry[..at];
                if (at >= 0 && !path.Contains(entry[(at + 1)..], StringComparison.OrdinalIgnoreCase)) continue;
                var kind = name.ToLowerInvariant() switch
                {
                    "429" => FaultKind.T429,
                    "429-date" => FaultKind.T429Date,
                    "503" => FaultKind.T503,
                    "500" => FaultKind.T500,
                    "504" => FaultKind.T504,
                    "reset" => FaultKind.Reset,
                    "slow" => FaultKind.Slow,
                    "410" => FaultKind.Resync410,
                    "syncstatenotfound" => FaultKind.SyncStateNotFound,
                    "410dir" => FaultKind.Resync410Dir,
                    "batch429" => FaultKind.Batch429,
                    _ => FaultKind.None,
                };
                if (kind == FaultKind.Resync410 && !driveDeltaWithToken) continue;
                if (kind is FaultKind.SyncStateNotFound or FaultKind.Resync410Dir && !dirDeltaWithToken) continue;
                if (kind == FaultKind.Batch429 && !isBatch) continue;
                c.Script.RemoveAt(k);
                return kind;
            }
            if (driveDeltaWithToken && c.RateDriveResync > 0 && _rng.NextDouble() < c.RateDriveResync) return FaultKind.Resync410;
            if (dirDeltaWithToken && c.RateDirectorySyncStateNotFound > 0 && _rng.NextDouble() < c.RateDirectorySyncStateNotFound) return FaultKind.SyncStateNotFound;
            var r = _rng.NextDouble();
            if ((r -= c.Rate429) < 0) return c.RetryAfterHttpDateShare > 0 && _rng.NextDouble() < c.RetryAfterHttpDateShare ? FaultKind.T429Date : FaultKind.T429;
            if ((r -= c.Rate503) < 0) return FaultKind.T503;
            if ((r -= c.Rate500) < 0) return FaultKind.T500;
            if ((r -= c.Rate504) < 0) return FaultKind.T504;
            if ((r -= c.RateReset) < 0) return FaultKind.Reset;
            return FaultKind.None;
        }
    }

    /// <summary>The configured error for a request path, if any (<see cref="FaultConfig.TargetErrors"/>).</summary>
    public TargetError? TargetErrorFor(string path)
    {
        lock (_gate)
        {
            foreach (var e in _config.TargetErrors)
                if (e.Match.Length > 0 && path.Contains(e.Match, StringComparison.OrdinalIgnoreCase)) return e;
            return null;
        }
    }

    /// <summary>(children first, page size override) for drive delta rounds.</summary>
    public (bool ChildrenFirst, int? PageSize, bool FullChildrenFirst, bool FullRepeats) DriveDeltaShape()
    {
        lock (_gate) return (_config.DriveDeltaChildrenFirst, _config.DrivePageSize, _config.DriveFullRoundChildrenFirst, _config.DriveFullRoundRepeats);
    }

    public bool InnerBatch429()
    {
        lock (_gate) return _config.RateBatchInner429 > 0 && _rng.NextDouble() < _config.RateBatchInner429;
    }

    public int LatencyMs()
    {
        lock (_gate)
        {
            var c = _config;
            if (c.LatencyMaxMs <= 0) return 0;
            return c.LatencyMinMs + _rng.Next(Math.Max(1, c.LatencyMaxMs - c.LatencyMinMs));
        }
    }

    public int Shuffle(int n)
    {
        lock (_gate) return _rng.Next(n);
    }

    /// <summary>
    /// Charges resource units. Returns (throttled, retryAfterSeconds, rateLimitHeaders) — throttled when a per-minute
    /// SharePoint budget is set and exceeded; throttled calls still count.
    /// </summary>
    public (bool Throttled, int RetryAfter, (int Limit, long Remaining, int Reset)? RateLimit) Charge(int ru, bool sharePoint)
    {
        Interlocked.Add(ref Stats.ResourceUnits, ru);
        if (sharePoint) Interlocked.Add(ref Stats.SharePointResourceUnits, ru);
        else Interlocked.Add(ref Stats.DirectoryResourceUnits, ru);
        if (!sharePoint) return (false, 0, null);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (now - _windowStart >= TimeSpan.FromMinutes(1))
            {
                var windows = (long)((now - _windowStart).Ticks / TimeSpan.TicksPerMinute);
                _windowStart = _windowStart.AddMinutes(windows);
                _windowRu = 0;
            }
            _windowRu += ru;
            var budget = _config.RuBudgetPerMinute;
            if (budget is null) return (false, 0, null);
            var reset = Math.Max(1, (int)Math.Ceiling((_windowStart.AddMinutes(1) - now).TotalSeconds));
            (int, long, int)? headers = _windowRu >= budget.Value * 0.8 ? (budget.Value, Math.Max(0, budget.Value - _windowRu), reset) : null;
            return (_windowRu > budget.Value, reset, headers);
        }
    }
}
