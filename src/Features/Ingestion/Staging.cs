using System.Text.Json;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Graph objects on their way to a set-based merge: binary COPY into a temp table (transaction-scoped for a permission
/// chunk, session-scoped for a listing that reads Graph for minutes), or a directory page as array parameters.
/// </summary>
internal static class Staging
{
    public static async Task CopyAsync(NpgsqlConnection connection, string table, IEnumerable<StageRow> rows, CancellationToken ct, bool create = true)
    {
        if (create)
            await connection.ExecuteAsync($"CREATE TEMP TABLE {table} ({Columns}) ON COMMIT DROP");
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {table} (id, removed, raw, a, b) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(row.Id, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Removed, NpgsqlDbType.Boolean, ct);
            await writer.WriteAsync(row.Raw, NpgsqlDbType.Jsonb, ct);
            if (row.A is null) await writer.WriteNullAsync(ct); else await writer.WriteAsync(row.A, NpgsqlDbType.Text, ct);
            if (row.B is null) await writer.WriteNullAsync(ct); else await writer.WriteAsync(row.B, NpgsqlDbType.Text, ct);
        }
        await writer.CompleteAsync(ct);
    }

    private const string Columns = "id text NOT NULL, removed boolean NOT NULL, raw jsonb, a text, b text";

    /// <summary>
    /// A staging table that lives as long as the connection holds it, outside any transaction: a listing that reads Graph
    /// for minutes (every site, every drive) copies each batch in its own short statement and opens its transaction only
    /// for the merge at the end. A transaction held across the Graph reads would hold back every VACUUM of the database
    /// (its transaction id is the oldest running) and sit "idle in transaction" while a slow page is awaited, which a
    /// server's <c>idle_in_transaction_session_timeout</c> ends by closing the connection. Dispose drops the table.
    /// </summary>
    public static async Task<IAsyncDisposable> SessionTableAsync(NpgsqlConnection connection, string table, CancellationToken ct)
    {
        await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS pg_temp.{table}; CREATE TEMP TABLE {table} ({Columns})", cancellationToken: ct));
        return new DropOnDispose(connection, table);
    }

    private sealed class DropOnDispose(NpgsqlConnection connection, string table) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            // after a failure too (its transaction rolled back first); on a broken connection there is nothing to drop
            try { await connection.ExecuteAsync($"DROP TABLE IF EXISTS pg_temp.{table}"); }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException) { }
        }
    }

    /// <summary>Page objects keyed by id, last occurrence wins (Graph may repeat an object within a round).</summary>
    public static Dictionary<string, StageRow> Collect(JsonElement value, Func<JsonElement, bool> isRemoved,
        Func<JsonElement, (string? A, string? B)>? extra = null)
    {
        var rows = new Dictionary<string, StageRow>(StringComparer.Ordinal);
        foreach (var e in value.EnumerateArray())
        {
            if (!e.TryGetProperty("id", out var idProp) || idProp.GetString() is not { Length: > 0 } id) continue;
            var (a, b) = extra?.Invoke(e) ?? (null, null);
            rows[id] = new StageRow(id, isRemoved(e), e.GetRawText(), a, b);
        }
        return rows;
    }

    /// <summary>
    /// A directory page as array parameters of one merge (<c>unnest(@Ids::text[], @Raws::jsonb[])</c>, removed objects by id):
    /// no temp table to create and drop per page (catalog rows written and deleted each time, ≈ 1 ms each).
    /// </summary>
    public static (string[] Ids, string[] Raws, string[] RemovedIds) Split(IEnumerable<StageRow> rows)
    {
        List<string> ids = [], raws = [], removed = [];
        foreach (var row in rows)
        {
            if (row.Removed) removed.Add(row.Id);
            else { ids.Add(row.Id); raws.Add(row.Raw); }
        }
        return (ids.ToArray(), raws.ToArray(), removed.ToArray());
    }

    public static bool HasRemoved(JsonElement e) => e.TryGetProperty("@removed", out _);
}
