using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Sentinel.TestSupport;
using Sentinel.Worker;

namespace Sentinel.Tests.ControlPlane;

/// <summary>The real worker host (WorkerHost.Build) on a test server, its database, and a local HTTPS identity provider.</summary>
public sealed class WorkerApiFixture : IAsyncLifetime
{
    private string _database = "";
    public TestIdentityProvider Idp { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        ConnectionString = TestDatabase.ConnectionStringFor(_database);
        Idp = await TestIdentityProvider.StartAsync();
        App = BuildWorker(ConnectionString, Idp.Instance, Idp.CaFile);
        await App.StartAsync();
        Client = App.GetTestClient();
    }

    /// <summary>The worker as `serve` builds it, minus migrations and the scheduler loop (tests drive the slices).</summary>
    public static WebApplication BuildWorker(string connectionString, string entraInstance, string? caFile) =>
        WorkerHost.Build([], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["DATABASE_URL"] = connectionString,
                ["ENTRA_INSTANCE"] = entraInstance,
                ["ENTRA_TENANT_ID"] = TestIdentityProvider.TenantId,
                ["ENTRA_CLIENT_ID"] = TestIdentityProvider.ClientId,
                ["ENTRA_CLIENT_SECRET"] = "test-secret-not-used",
                ["SENTINEL_CA_FILE"] = caFile,
                ["SCHEDULER_ENABLED"] = "false",
            });
        });

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        return (await connection.ExecuteScalarAsync<T>(sql, args))!;
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        return (await connection.QueryAsync<T>(sql, args)).ToList();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Idp.DisposeAsync();
        await TestDatabase.DropAsync(_database);
    }
}
