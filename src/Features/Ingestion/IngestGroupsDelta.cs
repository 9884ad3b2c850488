using System.Text.Json;
using Dapper;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Groups by /groups/delta (with members@delta) into msgraph_groups and msgraph_group_members. Member slices of a
/// large group spread over pages are merged; removed members and members of removed groups get deleted_at.
/// </summary>
public static class IngestGroupsDelta
{
    public sealed record Command(IngestRun? Run = null) : IExecutorRequest<Result>, INoInput;

    public sealed record Result(int Pages, long Groups, long MemberChanges, bool Resynced, long LiveGroups, long LiveMemberships);


    public const string InitialUrl =
        "groups/delta?$select=id,displayName,mail,mailEnabled,securityEnabled,groupTypes,visibility,isAssignableToRole,createdDateTime,members";

    private const string MergeSql = """
        INSERT INTO msgraph_groups AS t (id, display_name, mail, mail_enabled, security_enabled, group_types, visibility,
                                         is_assignable_to_role, created_dt, synced_at, deleted_at, raw)
        SELECT s.id, s.raw->>'displayName', s.raw->>'mail', (s.raw->>'mailEnabled')::boolean, (s.raw->>'securityEnabled')::boolean,
               CASE WHEN jsonb_typeof(s.raw->'groupTypes') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(s.raw->'groupTypes')) END,
               s.raw->>'visibility', (s.raw->>'isAssignableToRole')::boolean, (s.raw->>'createdDateTime')::timestamptz,
               @Now, NULL, s.raw - 'members@delta'
        FROM unnest(@Ids::text[], @Raws::jsonb[]) AS s(id, raw)
        ON CONFLICT (id) DO UPDATE SET
            display_name = EXCLUDED.display_name, mail = EXCLUDED.mail, mail_enabled = EXCLUDED.mail_enabled,
            security_enabled = EXCLUDED.security_enabled, group_types = EXCLUDED.group_types, visibility = EXCLUDED.visibility,
            is_assignable_to_role = EXCLUDED.is_assignable_to_role, created_dt = EXCLUDED.created_dt,
            synced_at = EXCLUDED.synced_at, deleted_at = NULL, raw = EXCLUDED.raw
        WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR (@Sweep AND t.synced_at < @RoundStart);

        INSERT INTO msgraph_groups AS t (id, synced_at, deleted_at)
        SELECT s.id, @Now, @Now FROM unnest(@RemovedIds::text[]) AS s(id)
        ON CONFLICT (id) DO UPDATE SET deleted_at = COALESCE(t.deleted_at, EXCLUDED.deleted_at), synced_at = EXCLUDED.synced_at
        WHERE t.deleted_at IS NULL OR (@Sweep AND t.synced_at < @RoundStart);

        -- Memberships of removed groups go with them.
        UPDATE msgraph_group_members m SET deleted_at = @Now, synced_at = @Now
        FROM unnest(@RemovedIds::text[]) AS s(id) WHERE m.group_id = s.id AND m.deleted_at IS NULL;

        INSERT INTO msgraph_group_members AS t (group_id, member_id, member_type, synced_at, deleted_at, raw)
        SELECT s.group_id, s.id, s.member_type, @Now, CASE WHEN s.removed THEN @Now END, s.raw
        FROM unnest(@MemberGroupIds::text[], @MemberIds::text[], @MemberTypes::text[], @MemberRemoved::boolean[], @MemberRaws::jsonb[])
             AS s(group_id, id, member_type, removed, raw)
        ON CONFLICT (group_id, member_id) DO UPDATE SET
            member_type = EXCLUDED.member_type, synced_at = EXCLUDED.synced_at,
            deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL ELSE COALESCE(t.deleted_at, EXCLUDED.deleted_at) END,
            raw = EXCLUDED.raw
        WHERE (t.deleted_at IS NULL) <> (EXCLUDED.deleted_at IS NULL) OR t.member_type IS DISTINCT FROM EXCLUDED.member_type
           OR (@Sweep AND t.synced_at < @RoundStart);
        """;

    private const string SweepSql = """
        UPDATE msgraph_groups SET deleted_at = @Now
        WHERE deleted_at IS NULL AND (synced_at IS NULL OR synced_at < @RoundStart);
        UPDATE msgraph_group_members SET deleted_at = @Now
        WHERE deleted_at IS NULL AND (synced_at IS NULL OR synced_at < @RoundStart);
        """;

    internal static string MemberType(JsonElement member) =>
        member.TryGetProperty("@odata.type", out var t) && t.GetString() is { } type
            ? type.StartsWith("#microsoft.graph.", StringComparison.Ordinal) ? type["#microsoft.graph.".Length..] : type.TrimStart('#')
            : "user";

    internal sealed class Handler(Db db, GraphHttp graph, TimeProvider clock) : MediatR.IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var run = request.Run ?? new IngestRun(clock.GetUtcNow());
            long memberChanges = 0;
            var round = await DeltaRounds.RunAsync(db, graph, run, clock, new DeltaPartition("groups", "tenant", InitialUrl),
                async (c, tx, value, ctx, token) =>
                {
                    var groups = Staging.Collect(value, Staging.HasRemoved);
                    var members = new Dictionary<(string, string), StageRow>();
                    foreach (var g in value.EnumerateArray())
                    {
                        if (!g.TryGetProperty("id", out var gid) || gid.GetString() is not { } groupId) continue;
                        if (!g.TryGetProperty("members@delta", out var md) || md.ValueKind != JsonValueKind.Array) continue;
                        foreach (var m in md.EnumerateArray())
                        {
                            if (!m.TryGetProperty("id", out var mid) || mid.GetString() is not { } memberId) continue;
                            members[(groupId, memberId)] = new StageRow(memberId, Staging.HasRemoved(m), m.GetRawText(), groupId, MemberType(m));
                        }
                    }
                    var page = Staging.Split(groups.Values);
                    var ms = members.Values;
                    await c.ExecuteAsync(new CommandDefinition(MergeSql, new
                    {
                        ctx.Now, ctx.Sweep, ctx.RoundStart, page.Ids, page.Raws, page.RemovedIds,
                        MemberGroupIds = ms.Select(r => r.A).ToArray(), MemberIds = ms.Select(r => r.Id).ToArray(), MemberTypes = ms.Select(r => r.B).ToArray(),
                        MemberRemoved = ms.Select(r => r.Removed).ToArray(), MemberRaws = ms.Select(r => r.Raw).ToArray(),
                    }, tx, cancellationToken: token));
                    memberChanges += members.Count;
                    run.Add("groups", groups.Count);
                    run.Add("memberships", members.Count);
                    return groups.Count;
                },
                (c, tx, ctx, token) => ctx.Sweep
                    ? c.ExecuteAsync(new CommandDefinition(SweepSql, new { ctx.Now, ctx.RoundStart }, tx, cancellationToken: token))
                    : Task.CompletedTask,
                ct);
            await using var connection = await db.OpenAsync(ct);
            var live = await connection.QuerySingleAsync<(long Groups, long Members)>("""
                SELECT (SELECT count(*) FROM msgraph_groups WHERE deleted_at IS NULL), (SELECT count(*) FROM msgraph_group_members WHERE deleted_at IS NULL)
                """);
            return new Result(round.Pages, round.Items, memberChanges, round.Resynced, live.Groups, live.Members);
        }
    }
}
