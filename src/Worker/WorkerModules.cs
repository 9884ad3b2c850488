using Dapper;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Worker;

/// <summary>The worker's services and HTTP routes, grouped by area so each area adds its own lines here.</summary>
internal static class WorkerModules
{
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration, SentinelSettings settings)
    {
        Sentinel.Features.Ingestion.IngestionRegistration.AddGraphIngestion(services, settings);
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/health", async (Db db, CancellationToken ct) =>
        {
            var dbOk = false;
            try
            {
                await using var connection = await db.OpenAsync(ct);
                dbOk = await connection.ExecuteScalarAsync<int>("SELECT 1") == 1;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                dbOk = false;
            }
            return Results.Json(new { status = dbOk ? "ok" : "degraded", db = dbOk }, Json.Options, statusCode: dbOk ? 200 : 503);
        });
    }
}
