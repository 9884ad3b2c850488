using System.Text.Json;

namespace Sentinel.Tests.Posture;

/// <summary>
/// The sharing picture computed from the simulator's ground truth (/_sim/state) in C#, independently of the SQL views
/// of db/init/014_posture.sql: facts keyed like posture_facts, so two pictures diff into the changes the feed must hold.
/// </summary>
public static class ExpectedPosture
{
    /// <summary>fact key ("kind|key") → comparable state.</summary>
    public static Dictionary<string, string> Facts(JsonElement truth, out Dictionary<string, string> groupOfMember, out HashSet<string> grantedGroups,
        out HashSet<string> liveItems)
    {
        var facts = new Dictionary<string, string>();
        var items = truth.GetProperty("items").EnumerateArray().Where(i => !i.GetProperty("deleted").GetBoolean()).ToList();
        liveItems = items.Where(i => i.GetProperty("parentId").ValueKind != JsonValueKind.Null).Select(i => i.GetProperty("id").GetString()!).ToHashSet();
        foreach (var i in items)
            if (i.GetProperty("parentId").ValueKind != JsonValueKind.Null && i.GetProperty("hasUniquePermissions").GetBoolean())
                facts["root|" + i.GetProperty("id").GetString()] = "";
        // Live permissions are exactly those held by live roots (the truth marks every other one deleted).
        var rankByRoot = new Dictionary<string, List<(int Rank, bool Write)>>();
        var groupGrants = new HashSet<string>();
        foreach (var p in truth.GetProperty("permissions").EnumerateArray())
        {
            if (p.GetProperty("deleted").GetBoolean()) continue;
            var item = p.GetProperty("itemId").GetString()!;
            var id = p.GetProperty("id").GetString()!;
            var scope = Str(p, "linkScope");
            var roles = p.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).OrderBy(r => r, StringComparer.Ordinal).ToList();
            var write = roles.Contains("write") || roles.Contains("owner");
            var edit = write || Str(p, "linkType") == "edit";
            if (scope is not null)
                facts[$"link|{item}|{id}"] = $"{scope}|{Str(p, "linkType")}|{string.Join(",", roles)}|{Str(p, "expirationDateTime")}";
            var grantRisk = 5;
            foreach (var g in p.GetProperty("grants").EnumerateArray())
            {
                var type = g.GetProperty("principalType").GetString()!;
                var principal = g.GetProperty("principalId").GetString()!;
                var orgWide = g.TryGetProperty("isOrgWide", out var ow) && ow.GetBoolean();
                facts[$"grant|{item}|{id}|{type}|{principal}"] = $"{string.Join(",", roles)}|{scope ?? "direct"}";
                grantRisk = Math.Min(grantRisk, orgWide ? 3 : g.GetProperty("isExternal").GetBoolean() ? 4 : 5);
                if (type == "group") groupGrants.Add(principal);
            }
            // The same order as msgraph_drive_item_permissions.risk_rank (db/init/014_posture.sql), written out independently.
            var rank = scope == "anonymous" ? (edit ? 0 : 1)
                : (scope == "organization" || grantRisk == 3) && edit ? 2
                : scope == "organization" ? 3 : grantRisk;
            (rankByRoot.TryGetValue(item, out var list) ? list : rankByRoot[item] = []).Add((rank, write));
        }
        // Reach: every live file, through its hierarchy root's permissions.
        foreach (var i in items)
        {
            if (i.GetProperty("isFolder").GetBoolean()) continue;
            if (!rankByRoot.TryGetValue(i.GetProperty("permissionRootId").GetString()!, out var perms)) continue;
            var id = i.GetProperty("id").GetString()!;
            foreach (var group in perms.Where(x => x.Rank <= 4).GroupBy(x => x.Rank <= 1 ? "anyone" : x.Rank <= 3 ? "organization" : "external"))
                facts[$"reach|{id}|{group.Key}"] = group.Any(x => x.Rank is 0 or 2 || (x.Rank == 4 && x.Write)) ? "edit" : "view";
        }
        foreach (var u in truth.GetProperty("users").EnumerateArray())
            if (!u.GetProperty("deleted").GetBoolean() && u.GetProperty("userType").GetString() == "Guest")
                facts["guest|" + u.GetProperty("id").GetString()] = "";

        groupOfMember = [];
        var nested = new List<(string Group, string Member)>();
        foreach (var m in truth.GetProperty("memberships").EnumerateArray())
        {
            if (m.GetProperty("deleted").GetBoolean()) continue;
            var key = $"{m.GetProperty("groupId").GetString()}|{m.GetProperty("memberId").GetString()}";
            facts["member|" + key] = "";
            groupOfMember[key] = m.GetProperty("groupId").GetString()!;
            if (m.GetProperty("memberType").GetString() == "group") nested.Add((m.GetProperty("groupId").GetString()!, m.GetProperty("memberId").GetString()!));
        }
        grantedGroups = [.. groupGrants];
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var (group, member) in nested)
                if (grantedGroups.Contains(group) && grantedGroups.Add(member)) changed = true;
        }
        return facts;
    }

    /// <summary>"perm|type|id" of a link/grant fact key without its item: copies made by breaking inheritance share it.</summary>
    private static string? Sharing(string key)
    {
        var parts = key.Split('|');
        return parts[0] switch { "link" => "link|" + parts[2], "grant" => "grant|" + string.Join("|", parts[2..]), _ => null };
    }

    /// <summary>The changes between two pictures, as "change_kind|fact key" strings (the feed's vocabulary).</summary>
    public static List<string> Changes(JsonElement before, JsonElement after)
    {
        var f0 = Facts(before, out _, out var granted0, out _);
        var f1 = Facts(after, out _, out var granted1, out var live1);
        var directGranted0 = GroupsWithGrants(before);
        var changes = new List<string>();
        foreach (var key in f0.Keys.Union(f1.Keys))
        {
            var kind = key[..key.IndexOf('|')];
            var rest = key[(kind.Length + 1)..];
            var op = !f0.ContainsKey(key) ? "added" : !f1.ContainsKey(key) ? "removed" : f0[key] == f1[key] ? null : "changed";
            if (op is null) continue;
            if (kind == "member")
            {
                var group = rest[..rest.IndexOf('|')];
                if (op == "changed" || !(granted1.Contains(group) || directGranted0.Contains(group))) continue;
            }
            if (kind is "guest" or "root" && op == "changed") continue;
            // Copies of the parent's links and grants made when inheritance breaks (or dropped when it is restored).
            if (kind is "link" or "grant")
            {
                var item = rest[..rest.IndexOf('|')];
                var sharing = Sharing(key)!;
                if (op == "added" && !f0.ContainsKey("root|" + item) && f1.ContainsKey("root|" + item)
                    && f0.Keys.Any(k => Sharing(k) == sharing && !k.StartsWith(kind + "|" + item + "|", StringComparison.Ordinal))) continue;
                if (op == "removed" && f0.ContainsKey("root|" + item) && !f1.ContainsKey("root|" + item)
                    && f1.Keys.Any(k => Sharing(k) == sharing && !k.StartsWith(kind + "|" + item + "|", StringComparison.Ordinal))) continue;
            }
            if (kind == "root" && op == "removed" && !live1.Contains(rest)) continue;
            var name = (kind, op) switch
            {
                ("link", "added") => "link_created", ("link", "removed") => "link_removed", ("link", _) => "link_changed",
                ("grant", "added") => "grant_added", ("grant", "removed") => "grant_removed", ("grant", _) => "grant_changed",
                ("reach", "added") => "reach_gained", ("reach", "removed") => "reach_lost", ("reach", _) => "reach_changed",
                ("guest", "added") => "guest_added", ("guest", _) => "guest_removed",
                ("member", "added") => "member_added", ("member", _) => "member_removed",
                ("root", "added") => "inheritance_broken", _ => "inheritance_restored",
            };
            changes.Add(name + "|" + rest);
        }
        _ = granted0;
        changes.Sort(StringComparer.Ordinal);
        return changes;
    }

    private static HashSet<string> GroupsWithGrants(JsonElement truth) =>
        truth.GetProperty("permissions").EnumerateArray().Where(p => !p.GetProperty("deleted").GetBoolean())
            .SelectMany(p => p.GetProperty("grants").EnumerateArray())
            .Where(g => g.GetProperty("principalType").GetString() == "group").Select(g => g.GetProperty("principalId").GetString()!).ToHashSet();

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The feed's rows as the same "change_kind|fact key" strings.</summary>
    public const string FeedSql = """
        SELECT kind || '|' || CASE
                 WHEN kind LIKE 'link%' THEN item_id || '|' || (coalesce(after, before)->>'permission_id')
                 WHEN kind LIKE 'grant%' THEN item_id || '|' || (coalesce(after, before)->>'permission_id') || '|' || principal_type || '|' || principal_id
                 WHEN kind LIKE 'reach%' THEN item_id || '|' || scope
                 WHEN kind LIKE 'guest%' THEN principal_id
                 WHEN kind LIKE 'member%' THEN (coalesce(after, before)->>'group_id') || '|' || principal_id
                 ELSE item_id END
          FROM posture_changes WHERE change_id > @After ORDER BY 1
        """;
}
