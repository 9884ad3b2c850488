using System.Text.Json;
using Dapper;
using Npgsql;

namespace Sentinel.Features.Infrastructure;

/// <summary>Writes audit_events rows inside the caller's transaction, so an audited change and its record commit together.</summary>
public static class Audit
{
    private const string Sql = """
        INSERT INTO audit_events (event_id, occurred_at, actor_oid, actor_upn, actor_name, action, entity_type, entity_id, details)
        VALUES (@EventId, @OccurredAt, @Oid, @Upn, @Name, @Action, @EntityType, @EntityId, @Details::jsonb)
        """;

    public static Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, DateTimeOffset now, Actor actor,
        string action, string entityType, string? entityId, object? details = null, CancellationToken ct = default) =>
        connection.ExecuteAsync(new CommandDefinition(Sql, new
        {
            EventId = Guid.NewGuid(),
            OccurredAt = now,
            actor.Oid,
            actor.Upn,
            actor.Name,
            Action = action,
            EntityType = entityType,
            EntityId = entityId,
            Details = JsonSerializer.Serialize(details ?? new { }, Json.Options),
        }, transaction, cancellationToken: ct));
}
