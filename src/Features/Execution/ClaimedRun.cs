using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>
/// A run this worker has claimed: the job's advisory lock is held on <see cref="LockConnection"/>, a connection
/// dedicated to this run for its whole life (a pooled connection returned mid-run would leak or drop the lock).
/// Disposing releases the lock and the connection. Heartbeats and progress go through the same connection, so a
/// run whose connection dies notices at its next heartbeat.
/// </summary>
public sealed class ClaimedRun : IAsyncDisposable
{
    internal ClaimedRun(NpgsqlConnection lockConnection, Guid runId, Guid jobId, string jobType, JsonObject config, Actor actor,
        string triggeredBy, string workerId, DateTimeOffset startedAt)
    {
        LockConnection = lockConnection;
        RunId = runId;
        JobId = jobId;
        JobType = jobType;
        Config = config;
        Actor = actor;
        TriggeredBy = triggeredBy;
        WorkerId = workerId;
        StartedAt = startedAt;
    }

    public NpgsqlConnection LockConnection { get; }
    public Guid RunId { get; }
    public Guid JobId { get; }
    public string JobType { get; }
    public JsonObject Config { get; }
    public Actor Actor { get; }
    public string TriggeredBy { get; }
    public string WorkerId { get; }
    public DateTimeOffset StartedAt { get; }

    /// <summary>Serialises use of the lock connection (heartbeat loop and progress reports).</summary>
    internal SemaphoreSlim Gate { get; } = new(1, 1);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (LockConnection.FullState == System.Data.ConnectionState.Open)
                await LockConnection.ExecuteAsync("SELECT pg_advisory_unlock(sentinel_job_lock_key(@JobId))", new { JobId });
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // The connection is gone: so is its session and with it the lock.
        }
        await LockConnection.DisposeAsync();
        Gate.Dispose();
    }
}

/// <summary>SQL shared by the claim steps: closing the runs the lock holder finds orphaned, and recording a start.</summary>
internal static class RunClaims
{
    public const string TryLockSql = "SELECT pg_try_advisory_lock(sentinel_job_lock_key(@JobId))";

    public const string UnlockSql = "SELECT pg_advisory_unlock(sentinel_job_lock_key(@JobId))";

    /// <summary>Whoever holds the job's lock knows any other 'running' run of the job lost its worker.</summary>
    public const string CloseOrphansSql = """
        UPDATE job_runs SET status = 'failed', finished_at = @Now, error = 'worker_lost'
         WHERE job_id = @JobId AND status = 'running'
        RETURNING run_id, worker_id
        """;

    public const string RunningRunSql = "SELECT run_id FROM job_runs WHERE job_id = @JobId AND status = 'running' ORDER BY started_at DESC LIMIT 1";

    public static async Task CloseOrphansAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid jobId, DateTimeOffset now, CancellationToken ct)
    {
        var orphans = await connection.QueryAsync<(Guid RunId, string? WorkerId)>(new CommandDefinition(CloseOrphansSql, new { JobId = jobId, Now = now }, tx, cancellationToken: ct));
        foreach (var (runId, workerId) in orphans)
            await Audit.WriteAsync(connection, tx, now, Actor.System, "run.worker_lost", "run", runId.ToString(),
                new { job_id = jobId, worker_id = workerId, detected_by = "lock_holder" }, ct);
    }

    public static async Task<NpgsqlConnection> OpenLockConnectionAsync(Db db, CancellationToken ct) => await db.OpenAsync(ct);

    /// <summary>Failure after the lock was taken: undo the transaction first (an aborted one cannot unlock), then unlock.</summary>
    public static async Task RollbackAndReleaseAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid jobId)
    {
        try
        {
            await tx.RollbackAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // Already rolled back or the connection is gone.
        }
        await ReleaseAsync(connection, jobId);
    }

    public static async Task ReleaseAsync(NpgsqlConnection connection, Guid jobId)
    {
        try
        {
            await connection.ExecuteAsync(UnlockSql, new { JobId = jobId });
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // Connection gone: the lock went with it.
        }
    }
}
