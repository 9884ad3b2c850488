using DotNet.Testcontainers.Configurations;
using Testcontainers.PostgreSql;

namespace Sentinel.TestSupport;

/// <summary>
/// PostgreSQL 16 (the version the compose file ships) through Testcontainers, when a Docker engine is reachable.
/// Not exercised on machines without Docker (this project's CI), where <see cref="TestDatabase"/> uses the local server.
/// </summary>
public static class TestcontainersPostgres
{
    public const string Image = "postgres:16";

    // Kept referenced for the life of the test process; Testcontainers' reaper removes it when the process ends.
    private static PostgreSqlContainer? _container;

    /// <summary>The admin connection string of a started container, or null when no Docker engine is reachable.</summary>
    public static string? TryStart()
    {
        // Testcontainers resolves the engine from DOCKER_HOST, ~/.testcontainers.properties or the default socket.
        if (TestcontainersSettings.OS.DockerEndpointAuthConfig is null) return null;
        // An engine that is reachable but fails to start the container is an error, not a reason to fall back.
        var container = new PostgreSqlBuilder(Image)
            .WithDatabase("postgres")
            .WithUsername("postgres")
            .WithPassword("sentinel-tests")
            .WithCommand("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=300")
            .Build();
        container.StartAsync().GetAwaiter().GetResult();
        _container = container;
        return container.GetConnectionString();
    }
}
