using System.IO.Pipelines;
using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>Streams the tenant as it is now (GET /_sim/state). See SIM_CONTRACT.md for the shape and comparison rule.</summary>
internal static class GroundTruth
{
    /// <summary>Caller holds the mutation gate (no writer can run), so reading without the read lock is safe across awaits.</summary>
    public static async Task WriteAsync(Tenant t, Stream output, CancellationToken ct)
    {
        var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        await using var w = new Utf8JsonWriter(pipe, Simulator.WriterOptions);
        var n = 0;
        async ValueTask Tick()
        {
            if (++n % 2000 != 0) return;
            w.Flush(); // commits to the pipe...
            await pipe.FlushAsync(ct); // ...and pushes it to the stream: memory stays bounded
        }
        w.WriteStartObject();
        w.WriteNumber("sequence", t.Seq);
        w.WriteStartArray("users");
        foreach (var u in t.Users)
        {
            w.WriteStartObject();
            w.WriteString("id", u.Id.ToString());
            w.WriteString("displayName", u.DisplayName);
            w.WriteString("userPrincipalName", u.Upn);
            if (u.Mail is null) w.WriteNull("mail"); else w.WriteString("mail", u.Mail);
            w.WriteBoolean("accountEnabled", u.Enabled);
            w.WriteString("userType", u.Guest ? "Guest" : "Member");
            w.WriteBoolean("deleted", u.Deleted);
            w.WriteEndObject();
            await Tick();
        }
        w.WriteEndArray();
        w.WriteStartArray("groups");
        foreach (var g in t.Groups)
        {
            w.WriteStartObject();
            w.WriteString("id", g.Id.ToString());
            w.WriteString("displayName", g.DisplayName);
            if (g.Mail is null) w.WriteNull("mail"); else w.WriteString("mail", g.Mail);
            w.WriteBoolean("mailEnabled", g.MailEnabled);
            w.WriteBoolean("securityEnabled", g.SecurityEnabled);
            w.WriteStartArray("groupTypes");
            if (g.Unified) w.WriteStringValue("Unified");
            w.WriteEndArray();
            w.WriteBoolean("deleted", g.Deleted);
            w.WriteEndObject();
            await Tick();
        }
        w.WriteEndArray();
        w.WriteStartArray("memberships");
        foreach (var m in t.Memberships)
        {
            w.WriteStartObject();
            w.WriteString("groupId", t.Groups[m.Group].Id.ToString());
            w.WriteString("memberId", (m.MemberIsGroup ? t.Groups[m.Member].Id : t.Users[m.Member].Id).ToString());
            w.WriteString("memberType", m.MemberIsGroup ? "group" : "user");
            w.WriteBoolean("deleted", m.Deleted || t.Groups[m.Group].Deleted);
            w.WriteEndObject();
            await Tick();
        }
        w.WriteEndArray();
        w.WriteStartArray("sites");
        foreach (var s in t.Sites)
        {
            w.WriteStartObject();
            w.WriteString("id", s.Id);
            w.WriteString("name", s.Name);
            w.WriteString("webUrl", s.WebUrl);
            w.WriteBoolean("deleted", !t.SiteLive(s));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("drives");
        foreach (var d in t.Drives)
        {
            w.WriteStartObject();
            w.WriteString("id", d.Id);
            if (d.Site >= 0) w.WriteString("siteId", t.Sites[d.Site].Id); else w.WriteNull("siteId");
            if (d.Owner >= 0) w.WriteString("ownerId", t.Users[d.Owner].Id.ToString()); else w.WriteNull("ownerId");
            w.WriteString("name", d.Name);
            w.WriteString("driveType", d.DriveType);
            w.WriteBoolean("deleted", d.Deleted);
            w.WriteEndObject();
            await Tick();
        }
        w.WriteEndArray();
        w.WriteStartArray("items");
        for (var i = 0; i < t.ItemCount; i++)
        {
            w.WriteStartObject();
            w.WriteString("id", t.ItemId(i));
            w.WriteString("driveId", t.Drives[t.ItemDrive[i]].Id);
            if (t.ItemParent[i] >= 0) w.WriteString("parentId", t.ItemId(t.ItemParent[i])); else w.WriteNull("parentId");
            w.WriteString("name", t.ItemName(i));
            w.WriteString("path", t.ItemPath(i));
            w.WriteBoolean("isFolder", t.IsFolder(i));
            w.WriteBoolean("deleted", t.IsDeleted(i) || t.Drives[t.ItemDrive[i]].Deleted); // a deleted drive takes its items with it
            // The permission model: the hierarchy root the item takes its permissions from, and its effective permissions.
            var root = t.PermissionRoot(i);
            w.WriteString("permissionRootId", t.ItemId(root));
            w.WriteBoolean("hasUniquePermissions", root == i);
            w.WriteStartArray("effectivePermissionIds");
            foreach (var id in t.LivePermissions(root).Select(p => p.Id).Distinct().Order(StringComparer.Ordinal)) w.WriteStringValue(id);
            w.WriteEndArray();
            w.WriteEndObject();
            await Tick();
        }
        w.WriteEndArray();
        w.WriteStartArray("permissions");
        foreach (var (item, perms) in t.PermissionsByItem.OrderBy(k => k.Key))
        {
            foreach (var p in perms)
            {
                WritePermission(t, w, item, p);
                await Tick();
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        await pipe.FlushAsync(ct);
        await pipe.CompleteAsync();
    }

    private static void WritePermission(Tenant t, Utf8JsonWriter w, int item, Permission p)
    {
        w.WriteStartObject();
        w.WriteString("id", p.Id);
        w.WriteString("itemId", t.ItemId(item));
        w.WriteString("driveId", t.Drives[t.ItemDrive[item]].Id);
        w.WriteStartArray("roles");
        foreach (var r in p.Roles) w.WriteStringValue(r);
        w.WriteEndArray();
        if (p.LinkType is null) w.WriteNull("linkType"); else w.WriteString("linkType", p.LinkType);
        if (p.LinkScope is null) w.WriteNull("linkScope"); else w.WriteString("linkScope", p.LinkScope);
        // "0001-01-01T00:00:00Z" is Graph's "no expiry": the truth reports null
        if (p.Expiration is null || p.Expiration.StartsWith("0001-01-01", StringComparison.Ordinal)) w.WriteNull("expirationDateTime");
        else w.WriteString("expirationDateTime", p.Expiration);
        // Only roots of permission hierarchies own permissions (a root whose inheritance was restored lost them).
        w.WriteBoolean("deleted", p.Deleted || t.IsDeleted(item) || t.Drives[t.ItemDrive[item]].Deleted || !t.IsPermissionRoot(item));
        if (p.Base) w.WriteBoolean("base", true);
        w.WriteStartArray("grants");
        var seen = new HashSet<string>();
        IEnumerable<Grant> all = p.GrantedTo is null ? p.Identities : p.Identities.Prepend(p.GrantedTo);
        foreach (var g in all)
        {
            if (!seen.Add(g.Type + "|" + g.Id)) continue;
            WriteGrant(w, g.Type, g.Id, g.DisplayName, g.Email, g.IsExternal, g.IsOrgWide);
        }
        if (p.GrantedTo is null && p.Identities.Count == 0 && p.InvitationEmail is not null)
            WriteGrant(w, "invitation", p.InvitationEmail, null, p.InvitationEmail, true);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteGrant(Utf8JsonWriter w, string type, string id, string? name, string? email, bool external, bool orgWide = false)
    {
        w.WriteStartObject();
        if (orgWide) w.WriteBoolean("isOrgWide", true);
        w.WriteString("principalType", type);
        w.WriteString("principalId", id);
        if (name is null) w.WriteNull("displayName"); else w.WriteString("displayName", name);
        if (email is null) w.WriteNull("email"); else w.WriteString("email", email);
        w.WriteBoolean("isExternal", external);
        w.WriteEndObject();
    }
}
