using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// The one comparison of the database with the simulator's ground truth (SIM_CONTRACT.md): every live object of the
/// truth is in the DB with deleted_at IS NULL and equal columns, and every DB row that is not live in the truth has
/// deleted_at set. Implemented as "the live sets are equal, key by key, value by value".
/// </summary>
public static class GroundTruth
{
    public sealed record Diff(string Entity, int TruthLive, int DbLive, List<string> Problems);

    public static async Task AssertMatchesAsync(SimulatorFixture fixture, params string[] entities)
    {
        var diffs = await CompareAsync(fixture, entities);
        var bad = diffs.Where(d => d.Problems.Count > 0).ToList();
        if (bad.Count == 0) return;
        var sb = new StringBuilder("database does not match the simulator's ground truth:\n");
        foreach (var d in bad)
        {
            sb.Append($"  {d.Entity}: truth live {d.TruthLive}, db live {d.DbLive}, {d.Problems.Count} differences\n");
            foreach (var p in d.Problems.Take(12)) sb.Append("    ").Append(p).Append('\n');
        }
        Assert.Fail(sb.ToString());
    }

    public static async Task<List<Diff>> CompareAsync(SimulatorFixture fixture, params string[] entities)
    {
        using var state = await fixture.StateAsync();
        var root = state.RootElement;
        await using var db = await fixture.OpenAsync();
        var all = entities.Length == 0 ? ["users", "groups", "memberships", "sites", "drives", "items", "permissions", "grants", "roots", "effective"] : entities;
        var result = new List<Diff>();
        foreach (var entity in all)
        {
            var (truth, dbRows) = entity switch
            {
                "users" => (Live(root, "users", u => S(u, "id"), u => J(S(u, "displayName"), S(u, "userPrincipalName"), S(u, "mail"), B(u, "accountEnabled"), S(u, "userType"))),
                    await Db(db, "SELECT id, concat_ws('|', coalesce(display_name,'∅'), coalesce(user_principal_name,'∅'), coalesce(mail,'∅'), coalesce(account_enabled::text,'∅'), coalesce(user_type,'∅')) FROM msgraph_users WHERE deleted_at IS NULL")),
                "groups" => (Live(root, "groups", g => S(g, "id"), g => J(S(g, "displayName"), S(g, "mail"), B(g, "mailEnabled"), B(g, "securityEnabled"), Arr(g, "groupTypes"))),
                    await Db(db, "SELECT id, concat_ws('|', coalesce(display_name,'∅'), coalesce(mail,'∅'), coalesce(mail_enabled::text,'∅'), coalesce(security_enabled::text,'∅'), coalesce(array_to_string(ARRAY(SELECT x FROM unnest(group_types) x ORDER BY x), ','),'∅')) FROM msgraph_groups WHERE deleted_at IS NULL")),
                "memberships" => (Live(root, "memberships", m => S(m, "groupId") + "/" + S(m, "memberId"), m => J(S(m, "memberType"))),
                    await Db(db, "SELECT group_id || '/' || member_id, member_type FROM msgraph_group_members WHERE deleted_at IS NULL")),
                "sites" => (Live(root, "sites", s => S(s, "id"), s => J(S(s, "name"), S(s, "webUrl"))),
                    await Db(db, "SELECT id, concat_ws('|', coalesce(name,'∅'), coalesce(web_url,'∅')) FROM msgraph_sites WHERE deleted_at IS NULL")),
                "drives" => (Live(root, "drives", d => S(d, "id"), d => J(S(d, "siteId"), S(d, "ownerId"), S(d, "name"), S(d, "driveType"))),
                    await Db(db, "SELECT id, concat_ws('|', coalesce(site_id,'∅'), coalesce(owner_id,'∅'), coalesce(name,'∅'), coalesce(drive_type,'∅')) FROM msgraph_drives WHERE deleted_at IS NULL")),
                "items" => (Live(root, "items", i => S(i, "id"), i => J(S(i, "driveId"), S(i, "parentId"), S(i, "name"), S(i, "path"), B(i, "isFolder"))),
                    await Db(db, "SELECT id, concat_ws('|', coalesce(drive_id,'∅'), coalesce(parent_id,'∅'), coalesce(name,'∅'), coalesce(path,'∅'), coalesce(is_folder::text,'∅')) FROM msgraph_drive_items WHERE deleted_at IS NULL")),
                "permissions" => (Live(root, "permissions", p => S(p, "itemId") + "/" + S(p, "id"),
                        p => J(S(p, "driveId"), Arr(p, "roles"), S(p, "linkType"), S(p, "linkScope"), Time(p.GetProperty("expirationDateTime")))),
                    await Db(db, """
                        SELECT item_id || '/' || permission_id, concat_ws('|', coalesce(drive_id,'∅'),
                               coalesce(array_to_string(ARRAY(SELECT x FROM unnest(roles) x ORDER BY x), ','),'∅'), coalesce(link_type,'∅'),
                               coalesce(link_scope,'∅'), coalesce(to_char(link_expiration_dt AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),'∅'))
                        FROM msgraph_drive_item_permissions WHERE deleted_at IS NULL
                        """)),
                "grants" => (LiveGrants(root),
                    await Db(db, """
                        SELECT item_id || '/' || permission_id || '/' || principal_type || '/' || principal_id,
                               concat_ws('|', coalesce(principal_display_name,'∅'), coalesce(principal_email,'∅'), is_external::text)
                        FROM msgraph_drive_item_permission_grants WHERE deleted_at IS NULL
                        """)),
                // The permission model: every live item's hierarchy root and whether it has unique permissions...
                "roots" => (Live(root, "items", i => S(i, "id"), i => J(S(i, "permissionRootId"), B(i, "hasUniquePermissions"))),
                    await Db(db, "SELECT id, concat_ws('|', coalesce(permission_root_id,'∅'), has_unique_permissions::text) FROM msgraph_drive_items WHERE deleted_at IS NULL")),
                // ...and its effective permissions (own + inherited), answered from the database without a Graph call.
                "effective" => (Live(root, "items", i => S(i, "id"), i => string.Join(',', i.GetProperty("effectivePermissionIds").EnumerateArray().Select(x => x.GetString()))),
                    await Db(db, """
                        SELECT i.id, coalesce(string_agg(DISTINCT e.permission_id COLLATE "C", ',' ORDER BY e.permission_id COLLATE "C"), '')
                          FROM msgraph_drive_items i LEFT JOIN v_drive_item_effective_permissions e ON e.item_id = i.id
                         WHERE i.deleted_at IS NULL GROUP BY i.id
                        """)),
                _ => throw new ArgumentException(entity),
            };
            var problems = new List<string>();
            foreach (var (k, v) in truth)
            {
                if (!dbRows.TryGetValue(k, out var dv)) problems.Add($"missing or deleted in db: {k} = {v}");
                else if (dv != v) problems.Add($"differs: {k}: truth {v} | db {dv}");
            }
            foreach (var (k, v) in dbRows)
                if (!truth.ContainsKey(k)) problems.Add($"live in db but not in truth: {k} = {v}");
            result.Add(new Diff(entity, truth.Count, dbRows.Count, problems));
        }
        return result;
    }

    private static Dictionary<string, string> Live(JsonElement root, string name, Func<JsonElement, string> key, Func<JsonElement, string> value)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in root.GetProperty(name).EnumerateArray())
            if (!(e.TryGetProperty("deleted", out var del) && del.ValueKind == JsonValueKind.True))
                d[key(e)] = value(e);
        return d;
    }

    private static Dictionary<string, string> LiveGrants(JsonElement root)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in root.GetProperty("permissions").EnumerateArray())
        {
            if (p.TryGetProperty("deleted", out var del) && del.ValueKind == JsonValueKind.True) continue;
            foreach (var g in p.GetProperty("grants").EnumerateArray())
                d[$"{S(p, "itemId")}/{S(p, "id")}/{S(g, "principalType")}/{S(g, "principalId")}"] =
                    J(S(g, "displayName"), S(g, "email"), B(g, "isExternal"));
        }
        return d;
    }

    private static async Task<Dictionary<string, string>> Db(Npgsql.NpgsqlConnection db, string sql)
    {
        var rows = await db.QueryAsync<(string Key, string Value)>(sql);
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in rows) d[k] = v;
        return d;
    }

    private static string J(params string[] parts) => string.Join('|', parts);

    private static string S(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) ? p.ValueKind switch
        {
            JsonValueKind.String => p.GetString() ?? "∅",
            JsonValueKind.Null => "∅",
            _ => p.GetRawText(),
        } : "∅";

    private static string B(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind is JsonValueKind.True or JsonValueKind.False ? (p.GetBoolean() ? "true" : "false") : "∅";

    private static string Arr(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Array
            ? string.Join(',', p.EnumerateArray().Select(x => x.GetString()).Order(StringComparer.Ordinal))
            : "∅";

    private static string Time(JsonElement e) =>
        e.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : "∅";
}
