using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Ingestion;
using Sentinel.Features.Jobs;
using Sentinel.Features.Execution;
using Sentinel.GraphSimulator;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// A migrated database plus an in-process tenant simulator (small profile, fixed seed) and the worker's slice
/// container pointed at it (ENTRA_INSTANCE / GRAPH_BASE_URL / SENTINEL_CA_FILE of the simulator, short backoffs).
/// The simulator's admin endpoints (/_sim/state, mutate, faults, stats) are used over HTTP, as the contract names them.
/// </summary>
public class SimulatorFixture : SliceFixture
{
    private HttpClient? _admin;

    public SimulatorInstance Sim { get; private set; } = null!;
    protected virtual string Profile => "small";
    protected virtual int Seed => 42;
    /// <summary>Simulator settings a fixture changes (e.g. page sizes).</summary>
    protected virtual void ConfigureSimulator(SimulatorOptions options) { }
    /// <summary>The Graph path's clock (retry delays, pauses, budget windows): real time unless a test fakes it.</summary>
    protected virtual TimeProvider GraphTime => TimeProvider.System;
    /// <summary>Resilience limits of the Graph path (short backoffs for tests).</summary>
    protected virtual GraphRetryOptions RetryOptions => new()
    {
        BaseDelay = TimeSpan.FromMilliseconds(10),
        MaxDelay = TimeSpan.FromMilliseconds(200),
        MaxAttempts = 10,
        RequestTimeout = TimeSpan.FromSeconds(20),
    };
    public const int TestRuPerMinute = 1_000_000;
    public const int TestRuPerDay = 100_000_000;

    public override async Task InitializeAsync()
    {
        var certDir = Path.Combine(Path.GetTempPath(), "sentinel-test-sim-certs");
        var simOptions = new SimulatorOptions { Profile = Profile, Seed = Seed, Port = 0, CertDir = certDir };
        ConfigureSimulator(simOptions);
        Sim = await SimulatorInstance.StartAsync(simOptions);
        await base.InitializeAsync();
        _admin = TrustedHttp.CreateClient(Sim.CaFile);
        _admin.BaseAddress = new Uri(Sim.BaseUrl + "/");
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        var settings = new SentinelSettings
        {
            ConnectionString = ConnectionString,
            EntraInstance = Sim.EntraInstance,
            EntraTenantId = Sim.TenantId,
            EntraClientId = Sim.ClientId,
            EntraClientSecret = Sim.ClientSecret,
            GraphBaseUrl = Sim.GraphBaseUrl,
            CaFile = Sim.CaFile,
        };
        services.AddSingleton(settings);
        // Run timestamps use the frozen test clock; Graph waiting (Retry-After, budget windows) needs one that moves.
        services.AddKeyedSingleton(GraphClock.Key, GraphTime);
        services.Replace(ServiceDescriptor.Singleton(RetryOptions));
        services.AddSingleton(new IngestionTuning { ProgressInterval = TimeSpan.Zero });
        services.AddGraphIngestion(settings);
    }

    public override async Task DisposeAsync()
    {
        _admin?.Dispose();
        await base.DisposeAsync();
        if (Sim is not null) await Sim.DisposeAsync();
    }

    /// <summary>Runs the graph_ingest executor as the scheduler would (config JSON, recording progress).</summary>
    public async Task<(JobOutcome Outcome, RecordingProgress Progress)> IngestAsync(string config = "{}", RecordingProgress? progress = null,
        CancellationToken ct = default)
    {
        progress ??= new RecordingProgress();
        using var scope = Services.CreateScope();
        var executor = scope.ServiceProvider.GetServices<IJobExecutor>().Single(e => e.JobType == JobTypes.GraphIngest);
        var json = (JsonObject)JsonNode.Parse(config)!;
        // The RU budget is on in every ingestion test: roomy enough that a test never waits a real minute for it,
        // unless the test sets its own.
        if (!json.ContainsKey("graph_ru_per_minute")) json["graph_ru_per_minute"] = TestRuPerMinute;
        if (!json.ContainsKey("graph_ru_per_day")) json["graph_ru_per_day"] = TestRuPerDay;
        var outcome = await executor.ExecuteAsync(new JobRunContext(Guid.NewGuid(), Guid.NewGuid(), json,
            new Actor("test", "test@contoso.test", "Test"), progress), ct);
        return (outcome, progress);
    }

    public async Task<JsonDocument> StateAsync() => JsonDocument.Parse(await _admin!.GetStringAsync("_sim/state"));

    public async Task MutateAsync(int count, int seed)
    {
        using var r = await _admin!.PostAsJsonAsync("_sim/mutate", new { count, seed });
        r.EnsureSuccessStatusCode();
    }

    /// <summary>POST /_sim/mutate with kinds (and a target item); returns the applied mutations.</summary>
    public async Task<JsonElement> MutateAsync(int count, int seed, string[] kinds, string? target = null)
    {
        using var r = await _admin!.PostAsJsonAsync("_sim/mutate", new { count, seed, kinds, target });
        r.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("mutations").Clone();
    }

    public async Task SetFaultsAsync(object faults)
    {
        using var r = await _admin!.PostAsync("_sim/faults", JsonContent.Create(faults));
        r.EnsureSuccessStatusCode();
    }

    public async Task<JsonElement> StatsAsync()
    {
        using var doc = JsonDocument.Parse(await _admin!.GetStringAsync("_sim/stats"));
        return doc.RootElement.Clone();
    }

    public async Task ResetStatsAsync()
    {
        using var r = await _admin!.PostAsync("_sim/stats/reset", null);
        r.EnsureSuccessStatusCode();
    }
}

/// <summary>An IRunProgress that records what the run reports and can cancel the run at a chosen point.</summary>
public sealed class RecordingProgress : IRunProgress
{
    private readonly object _lock = new();
    public List<IReadOnlyDictionary<string, object?>> Reports { get; } = [];
    public List<(string Action, string Details)> Audits { get; } = [];
    public Func<IReadOnlyDictionary<string, object?>, bool>? CancelWhen { get; init; }
    public CancellationTokenSource Cancellation { get; } = new();

    public Task ReportAsync(IReadOnlyDictionary<string, object?> fields, CancellationToken ct)
    {
        lock (_lock) Reports.Add(fields);
        if (CancelWhen?.Invoke(fields) == true) Cancellation.Cancel();
        return Task.CompletedTask;
    }

    public Task AuditAsync(string action, object details, CancellationToken ct)
    {
        lock (_lock) Audits.Add((action, JsonSerializer.Serialize(details, Json.Options)));
        return Task.CompletedTask;
    }
}
