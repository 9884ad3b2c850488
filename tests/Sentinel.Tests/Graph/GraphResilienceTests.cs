using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Graph;
using Sentinel.TestSupport;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Graph;

/// <summary>The simulator with a fake Graph clock: every wait of the pipeline is observed and advanced, never slept.</summary>
public sealed class FakeClockGraphFixture : SimulatorFixture
{
    public WaitingFakeTime Time { get; } = new();
    protected override TimeProvider GraphTime => Time;
    protected override GraphRetryOptions RetryOptions => new() { MaxAttempts = 4 };
    public GraphRetryOptions Options => RetryOptions;
    public GraphHttp Graph => Services.GetRequiredService<GraphHttp>();
    /// <summary>The pipeline's own timeouts also start timers; a test waiting for a retry delay skips them.</summary>
    public TimeSpan[] Timeouts => [Options.TotalTimeout, Options.RequestTimeout];
}

/// <summary>
/// The one Polly pipeline under faults the simulator scripts (real HTTP, real PostgreSQL budget), with a
/// FakeTimeProvider: Retry-After in both forms, jittered backoff, resets, attempt timeouts, the total time
/// limit, exhaustion, and inner $batch throttling — each asserted on the exact wait the pipeline asked for.
/// </summary>
public sealed class GraphResilienceTests(FakeClockGraphFixture f) : IClassFixture<FakeClockGraphFixture>, IAsyncLifetime
{
    private const string Url = "sites/getAllSites?$select=id";
    private static readonly TimeSpan Margin = new GraphRetryOptions().RetryAfterMargin;

    public async Task InitializeAsync()
    {
        await f.ResetStatsAsync();
        f.Time.Forget();
    }
    public async Task DisposeAsync() => await f.SetFaultsAsync(new { });

    private async Task<DateTimeOffset> PausedUntilAsync() =>
        await f.ScalarAsync<DateTimeOffset>("SELECT paused_until FROM graph_ru_budget");

    [Fact]
    public async Task Should_wait_exactly_Retry_After_seconds_after_a_429_and_pause_every_process()
    {
        await f.SetFaultsAsync(new { script = new[] { "429" }, retryAfterSeconds = 7 });
        var stats = new GraphCallStats();
        var started = f.Time.GetUtcNow();
        var call = f.Graph.GetAsync(Url, stats, default);

        var waited = await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts);
        var response = await call;

        Assert.True(response.IsSuccess);
        Assert.Equal(TimeSpan.FromSeconds(7) + Margin, waited);
        Assert.Equal((2L, 1L, 1L), (stats.Requests, stats.Throttled, stats.Retries));
        // The pause is shared through PostgreSQL, not kept in this process only.
        Assert.Equal(started + TimeSpan.FromSeconds(7) + Margin, await PausedUntilAsync());
        Assert.Equal(1, (await f.StatsAsync()).GetProperty("throttled429").GetInt64());
    }

    [Fact]
    public async Task Should_wait_until_the_HTTP_date_of_Retry_After()
    {
        await f.SetFaultsAsync(new { script = new[] { "429-date" }, retryAfterSeconds = 7 });
        var call = f.Graph.GetAsync(Url, new GraphCallStats(), default);

        var waited = await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts);
        Assert.True((await call).IsSuccess);
        // The simulator sends now+8 s truncated to whole seconds, relative to its Date header (whole seconds, cached
        // up to 1 s by Kestrel); we add one second because an HTTP date cannot say "half past".
        Assert.InRange(waited, TimeSpan.FromSeconds(8) + Margin, TimeSpan.FromSeconds(10) + Margin);
    }

    [Fact]
    public async Task Should_treat_503_as_throttling_with_its_Retry_After()
    {
        await f.SetFaultsAsync(new { script = new[] { "503" }, retryAfterSeconds = 3 });
        var stats = new GraphCallStats();
        var call = f.Graph.GetAsync(Url, stats, default);
        Assert.Equal(TimeSpan.FromSeconds(3) + Margin, await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts));
        Assert.True((await call).IsSuccess);
        Assert.Equal(1, stats.Throttled);
    }

    [Fact]
    public async Task Should_back_off_with_jitter_on_5xx_and_resets_without_pausing_anyone()
    {
        await f.Graph.GetAsync(Url, new GraphCallStats(), default); // the budget row exists from here on
        var pausedBefore = await PausedUntilAsync();
        await f.SetFaultsAsync(new { script = new[] { "500", "reset", "504" } });
        await f.ResetStatsAsync();
        f.Time.Forget();
        var stats = new GraphCallStats();
        var call = f.Graph.GetAsync(Url, stats, default);

        var waits = new List<TimeSpan>();
        for (var i = 0; i < 3; i++) waits.Add(await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts));
        Assert.True((await call).IsSuccess);

        Assert.All(waits, w => Assert.InRange(w, TimeSpan.FromTicks(1), f.Options.MaxDelay));
        Assert.Equal((4L, 0L, 3L), (stats.Requests, stats.Throttled, stats.Retries));
        var sim = await f.StatsAsync();
        Assert.Equal((1L, 1L, 1L), (sim.GetProperty("served500").GetInt64(), sim.GetProperty("resets").GetInt64(), sim.GetProperty("served504").GetInt64()));
        Assert.Equal(pausedBefore, await PausedUntilAsync());
    }

    [Fact]
    public async Task Should_give_up_after_the_configured_tries_with_a_secret_free_reason()
    {
        await f.SetFaultsAsync(new { script = new[] { "500", "500", "500", "500", "500" } });
        var call = f.Graph.GetAsync(Url, new GraphCallStats(), default);
        for (var i = 0; i < f.Options.MaxAttempts - 1; i++) await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts);

        var e = await Assert.ThrowsAsync<JobFailedException>(() => call);
        Assert.Equal("graph_unavailable", e.Code);
        Assert.Contains("last: HTTP 500", e.Message);
        Assert.Equal(f.Options.MaxAttempts, (await f.StatsAsync()).GetProperty("served500").GetInt64());
    }

    [Fact]
    public async Task Should_retry_an_attempt_that_exceeds_its_timeout()
    {
        await f.SetFaultsAsync(new { script = new[] { "slow" } });
        var stats = new GraphCallStats();
        var call = f.Graph.GetAsync(Url, stats, default);

        Assert.Equal(f.Options.RequestTimeout, await f.Time.AdvanceThroughNextWaitAsync(f.Options.TotalTimeout));
        await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts);
        Assert.True((await call).IsSuccess);
        Assert.Equal(1, stats.Retries);
    }

    [Fact]
    public async Task Should_stop_at_the_total_time_limit_of_a_call()
    {
        // Each Retry-After is 10 minutes: the second one crosses the 15-minute limit before the tries run out.
        await f.SetFaultsAsync(new { script = new[] { "429", "429", "429", "429" }, retryAfterSeconds = 600 });
        var call = f.Graph.GetAsync(Url, new GraphCallStats(), default);
        await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts);
        await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts);

        var e = await Assert.ThrowsAsync<JobFailedException>(() => call);
        Assert.Equal("graph_unavailable", e.Code);
        Assert.Contains("timed out", e.Message);
        Assert.Equal(2, (await f.StatsAsync()).GetProperty("throttled429").GetInt64());
    }

    [Fact]
    public async Task Should_resend_only_the_inner_batch_requests_that_were_throttled_after_their_own_Retry_After()
    {
        await f.SetFaultsAsync(new { script = new[] { "batch429" }, retryAfterSeconds = 4 });
        var stats = new GraphCallStats();
        var call = GraphBatch.GetManyAsync(f.Graph, [Url, "sites/getAllSites?$select=id,name", "sites/getAllSites?$select=name"], stats, default);

        Assert.Equal(TimeSpan.FromSeconds(4) + Margin, await f.Time.AdvanceThroughNextWaitAsync(f.Timeouts));
        var responses = await call;

        Assert.All(responses, r => Assert.True(r.IsSuccess));
        Assert.Equal((2L, 1L, 1L), (stats.Requests, stats.Throttled, stats.Retries));
        var sim = await f.StatsAsync();
        Assert.Equal(4, sim.GetProperty("batchInnerRequests").GetInt64());
    }
}
