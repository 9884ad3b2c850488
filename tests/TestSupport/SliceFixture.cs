using Dapper;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Infrastructure;

namespace Sentinel.TestSupport;

/// <summary>
/// One migrated database per test class and the worker's full slice container over it.
/// Tests go through the mediator, as the hosts do: <c>await fixture.SendAsync(new CreateJob.Command(...))</c>.
/// </summary>
public class SliceFixture : IAsyncLifetime
{
    private ServiceProvider? _provider;

    public string DatabaseName { get; private set; } = "";
    public string ConnectionString { get; private set; } = "";
    public ManualTimeProvider Clock { get; }
    public IServiceProvider Services => _provider ?? throw new InvalidOperationException("fixture not initialised");

    public SliceFixture() : this(new ManualTimeProvider()) { }

    protected SliceFixture(ManualTimeProvider clock) => Clock = clock;

    public virtual async Task InitializeAsync()
    {
        DatabaseName = await TestDatabase.CreateMigratedAsync();
        ConnectionString = TestDatabase.ConnectionStringFor(DatabaseName);
        _provider = BuildProvider(ConnectionString, HostRole.Worker, Clock, ConfigureServices);
    }

    /// <summary>What a derived fixture adds to the worker's container (the simulator's Graph client, the scheduler, test executors).</summary>
    protected virtual void ConfigureServices(IServiceCollection services) { }

    public virtual async Task DisposeAsync()
    {
        if (_provider is not null) await _provider.DisposeAsync();
        await TestDatabase.DropAsync(DatabaseName);
    }

    public static ServiceProvider BuildProvider(string connectionString, HostRole role, TimeProvider clock, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(clock);
        services.AddSentinelFeatures(role, connectionString);
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
    }

    public async Task<T> SendAsync<T>(IRequest<T> request, CancellationToken ct = default)
    {
        using var scope = Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request, ct);
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, args))!;
    }

    public async Task<int> ExecuteAsync(string sql, object? args = null)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteAsync(sql, args);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<T>(sql, args)).ToList();
    }
}
