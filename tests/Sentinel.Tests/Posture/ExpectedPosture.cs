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
        liveItems = truth.GetProperty("items").EnumerateArray().Where(i => !i.GetProperty("deleted").GetBoolean() && i.GetProperty("parentId").ValueKind != JsonValueKind.Null)
            .Select(i => i.GetProperty("id").GetString()!).ToHashSet();
        var reach = new Dictionary<(string Item, string Audience), bool>();
        var groupGrants = new HashSet<string>();
        foreach (var p in truth.GetProperty("permissions").EnumerateArray())
        {
            var item = p.GetProperty("itemId").GetString()!;
            var id = p.GetProperty("id").GetString()!;
            if (liveItems.Contains(item)) facts["root|" + item] = "";
            if (p.GetProperty("deleted").GetBoolean()) continue;
            var scope = Str(p, "linkScope");
            var roles = p.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).OrderBy(r => r, StringComparer.Ordinal).ToList();
            var edit = roles.Contains("write") || roles.Contains("owner") || Str(p, "linkType") == "edit";
            if (scope is not null) facts[$"link|{item}|{id}"] = $"{scope}|{Str(p, "linkType")}|{string.Join(",", roles)}|{Str(p, "expirationDateTime")}";
            var anyExternal = false;
            foreach (var g in p.GetProperty("grants").EnumerateArray())
            {
                var type = g.GetProperty("principalType").GetString()!;
                var principal = g.GetProperty("principalId").GetString()!;
                facts[$"grant|{item}|{id}|{type}|{principal}"] = $"{string.Join(",", roles)}|{scope ?? "direct"}";
                anyExternal |= g.GetProperty("isExternal").GetBoolean();
                if (type == "group") groupGrants.Add(principal);
            }
            var audience = scope switch { "anonymous" => "anyone", "organization" => "organization", _ => anyExternal ? "external" : null };
            if (audience is null) continue;
            var editsHere = audience == "external" ? roles.Contains("write") || roles.Contains("owner") : edit;
            reach[(item, audience)] = reach.TryGetValue((item, audience), out var e) ? e || editsHere : editsHere;
        }
        foreach (var ((item, audience), edit) in reach)
            if (liveItems.Contains(item)) facts[$"reach|{item}|{audience}"] = edit ? "edit" : "view";
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
