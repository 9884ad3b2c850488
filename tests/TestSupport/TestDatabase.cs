using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MediatR;
using Npgsql;
using Sentinel.Features.Database;
using Sentinel.Features.Infrastructure;

namespace Sentinel.TestSupport;

/// <summary>
/// Real PostgreSQL for tests: <c>postgres:16</c> started through Testcontainers when a Docker engine is reachable
/// (one container per test process, removed by Testcontainers' reaper), otherwise the server named by
/// SENTINEL_TEST_DATABASE_URL (./test.sh starts a throwaway local one). SENTINEL_TEST_POSTGRES=local skips the Docker
/// probe. Each test class gets its own database cloned from a migrated template, dropped afterwards.
/// </summary>
public static class TestDatabase
{
    private static readonly SemaphoreSlim TemplateGate = new(1, 1);
    private static string? _templateName;
    private static readonly Lazy<string> Server = new(ResolveServer, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>"testcontainers postgres:16" or "local" — which server this test process uses.</summary>
    public static string ServerKind { get; private set; } = "";

    public static string ServerConnectionString => Server.Value;

    private static string ResolveServer()
    {
        if (Environment.GetEnvironmentVariable("SENTINEL_TEST_POSTGRES") != "local" && TestcontainersPostgres.TryStart() is { } container)
        {
            ServerKind = "testcontainers postgres:16";
            return Pooled(container);
        }
        var url = Environment.GetEnvironmentVariable("SENTINEL_TEST_DATABASE_URL");
        if (string.IsNullOrWhiteSpace(url))
            throw new InvalidOperationException("No Docker engine for Testcontainers and SENTINEL_TEST_DATABASE_URL is not set: run the tests through ./test.sh, or point it at a PostgreSQL server you may create databases on");
        ServerKind = "local";
        return Pooled(DatabaseUrl.ToConnectionString(url));
    }

    private static string Pooled(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Pooling = true, MaxPoolSize = 50 }.ConnectionString;

    public static string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = database }.ConnectionString;

    public static string MigrationsDirectory => ApplyMigrations.DefaultDirectory();

    /// <summary>Creates an empty database (no schema).</summary>
    public static async Task<string> CreateEmptyAsync(string prefix = "sentinel_t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await using var admin = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await admin.OpenAsync();
        await admin.ExecuteAsync($"CREATE DATABASE \"{name}\"");
        return name;
    }

    /// <summary>Creates a migrated database from the template (built once per migration set).</summary>
    public static async Task<string> CreateMigratedAsync()
    {
        var template = await EnsureTemplateAsync();
        var name = $"sentinel_t_{Guid.NewGuid():N}";
        await using var admin = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await admin.OpenAsync();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await admin.ExecuteAsync($"CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
                return name;
            }
            catch (PostgresException e) when (e.SqlState == "55006" && attempt < 20)
            {
                // Template briefly busy (another process is cloning it): try again.
                await Task.Delay(100 * (attempt + 1));
            }
        }
    }

    public static async Task DropAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await admin.OpenAsync();
        await admin.ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    }

    private static async Task<string> EnsureTemplateAsync()
    {
        if (_templateName is not null) return _templateName;
        await TemplateGate.WaitAsync();
        try
        {
            if (_templateName is not null) return _templateName;
            var hash = Convert.ToHexStringLower(SHA256.HashData(Directory.GetFiles(MigrationsDirectory, "*.sql")
                .OrderBy(f => f, StringComparer.Ordinal).SelectMany(File.ReadAllBytes).ToArray()))[..12];
            var template = $"sentinel_tpl_{hash}";

            await using var admin = new NpgsqlConnection(ConnectionStringFor("postgres"));
            await admin.OpenAsync();
            // Several test processes may start together: one builds the template, the others wait.
            await admin.ExecuteAsync("SELECT pg_advisory_lock(4242)");
            try
            {
                var exists = await admin.ExecuteScalarAsync<bool>(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @template AND datistemplate)", new { template });
                if (!exists)
                {
                    await admin.ExecuteAsync($"DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)");
                    await admin.ExecuteAsync($"CREATE DATABASE \"{template}\"");
                    await MigrateAsync(template);
                    NpgsqlConnection.ClearAllPools();
                    await admin.ExecuteAsync($"ALTER DATABASE \"{template}\" WITH is_template true");
                }
            }
            finally
            {
                await admin.ExecuteAsync("SELECT pg_advisory_unlock(4242)");
            }
            _templateName = template;
            return template;
        }
        finally
        {
            TemplateGate.Release();
        }
    }

    public static async Task<ApplyMigrations.Result> MigrateAsync(string database, string? directory = null)
    {
        await using var provider = SliceFixture.BuildProvider(ConnectionStringFor(database), HostRole.Worker, TimeProvider.System);
        using var scope = provider.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>()
            .Send(new ApplyMigrations.Command(directory ?? MigrationsDirectory));
    }
}
