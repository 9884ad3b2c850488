using Dapper;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>table_update_log writes outside the page transactions (see touch_table_update_log in 001_schema.sql).</summary>
internal static class TableLog
{
    public const string DeferSql = "SET LOCAL sentinel.defer_table_log = 'on'";

    public static async Task TouchAsync(Db db, string[] tables, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO table_update_log (table_name, last_updated_at)
            SELECT t, clock_timestamp() FROM unnest(@Tables) AS t
            ON CONFLICT (table_name) DO UPDATE SET last_updated_at = GREATEST(table_update_log.last_updated_at, EXCLUDED.last_updated_at)
            """, new { Tables = tables }, cancellationToken: ct));
    }
}
