using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Graph;

/// <summary>
/// The tenant's RU budget in PostgreSQL, drawn by two independent "processes" (own data source, own budget
/// object, own local reservations) on one fake clock: together they never exceed the minute or day limit, and a
/// 429 pause set by one holds the other.
/// </summary>
public sealed class GraphRuBudgetTests : IClassFixture<SliceFixture>
{
    private readonly SliceFixture _f;
    private readonly WaitingFakeTime _time = new();
    private readonly string _tenant = Guid.NewGuid().ToString();

    public GraphRuBudgetTests(SliceFixture f) => _f = f;

    private GraphRuBudget Process(string name, GraphBudgetOptions? options = null) =>
        new(new Db(Db.CreateDataSource(_f.ConnectionString, name)),
            new SentinelSettings { ConnectionString = _f.ConnectionString, EntraTenantId = _tenant },
            options ?? new GraphBudgetOptions(), _time);

    private Task<long> MinuteUsedAsync() => _f.ScalarAsync<long>("SELECT minute_used FROM graph_ru_budget WHERE tenant_id = @_tenant", new { _tenant });

    [Fact]
    public async Task Should_never_grant_two_processes_more_than_the_minute_budget_together()
    {
        var a = Process("worker-a");
        var b = Process("web-b");
        await a.ConfigureAsync(perMinute: 100, perDay: 10_000, licences: null, default);
        var granted = 0;
        using var stop = new CancellationTokenSource();
        // Each wants more than a whole minute's budget, so both must end up waiting whatever the split.
        async Task Spend(GraphRuBudget budget)
        {
            try
            {
                for (var i = 0; i < 30; i++)
                {
                    await budget.AcquireAsync(5, stop.Token);
                    Interlocked.Add(ref granted, 5);
                }
            }
            catch (OperationCanceledException) { }
        }
        var both = Task.WhenAll(Spend(a), Spend(b));

        // Both end up waiting for the next minute: by then exactly the minute's 100 RU were handed out.
        var first = await _time.NextWaitAsync();
        var second = await _time.NextWaitAsync();
        Assert.Equal(100, Volatile.Read(ref granted));
        Assert.Equal(100, await MinuteUsedAsync());
        Assert.Equal(first, second);
        Assert.Equal(TimeSpan.FromMinutes(1), first); // the fake clock starts on a whole minute

        stop.Cancel();
        await both;
        Assert.Equal(100, granted);
    }

    [Fact]
    public async Task Should_pause_every_process_when_one_of_them_is_throttled()
    {
        var a = Process("worker-a");
        var b = Process("worker-b");
        await a.ConfigureAsync(perMinute: 1_000, perDay: 100_000, licences: null, default);
        await b.AcquireAsync(1, default); // b holds a local reservation from before the 429

        await a.PauseAsync(TimeSpan.FromSeconds(30), default);
        // b's reservation lives one lease at most; after it, b must see a's pause in PostgreSQL.
        _time.Advance(new GraphBudgetOptions().LeaseTime);
        var call = b.AcquireAsync(1, default).AsTask();

        var wait = await _time.NextWaitAsync();
        Assert.False(call.IsCompleted);
        Assert.Equal(TimeSpan.FromSeconds(29), wait);
        _time.Advance(wait);
        await call;
    }

    [Fact]
    public async Task Should_fail_a_call_clearly_when_the_day_budget_is_spent()
    {
        var a = Process("worker-a", new GraphBudgetOptions { MaxWait = TimeSpan.FromMinutes(15) });
        await a.ConfigureAsync(perMinute: 50, perDay: 60, licences: null, default);
        await a.AcquireAsync(50, default);
        _time.Advance(TimeSpan.FromMinutes(1));
        await a.AcquireAsync(10, default);

        var e = await Assert.ThrowsAsync<JobFailedException>(() => a.AcquireAsync(5, default).AsTask());
        Assert.Equal("graph_budget_exhausted", e.Code);
        Assert.Contains("graph_ru_per_day", e.Message);
        Assert.Equal(60, await _f.ScalarAsync<long>("SELECT day_used FROM graph_ru_budget WHERE tenant_id = @_tenant", new { _tenant }));
    }

    [Fact]
    public async Task Should_hand_back_an_unspent_reservation_with_the_next_one()
    {
        var a = Process("worker-a");
        await a.ConfigureAsync(perMinute: 5_000, perDay: 1_000_000, licences: null, default);
        await a.AcquireAsync(1, default); // reserves a chunk of 5000/50 = 100 RU, spends 1
        Assert.Equal(100, await MinuteUsedAsync());

        _time.Advance(new GraphBudgetOptions().LeaseTime); // the lease expires, 99 RU unspent
        await a.AcquireAsync(1, default);
        Assert.Equal(101, await MinuteUsedAsync()); // 1 spent + a new chunk of 100
    }
}
