using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>Users and groups: directory delta, GET user, group members.</summary>
internal sealed partial class GraphApi
{
    private static readonly string[] UserDefaultProps = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"];
    private static readonly string[] GroupDefaultProps = ["classification", "createdDateTime", "description", "displayName", "groupTypes", "mail", "mailEnabled", "mailNickname", "securityEnabled", "visibility", "id"];

    private void DirectoryDelta(GraphRequest req, GraphResponse resp, Utf8JsonWriter w, CursorKind kind, string? token)
    {
        var users = kind == CursorKind.Users;
        var ctx = $"{G}/$metadata#{(users ? "users" : "groups")}";
        Cursor c;
        if (token == "latest")
        {
            c = new Cursor(kind, 0, T.Seq, T.Seq, 0, 0, Cursor.RoundStart, Q(req, "$select"));
            WriteEmptyDeltaPage(w, ctx, DirLink(users, c, delta: true));
            return;
        }
        if (token is null) c = new Cursor(kind, 0, 0, T.Seq, 0, 0, 0, Q(req, "$select"));
        else
        {
            var (dec, stale, issued) = Cursor.Decode(token, sim.TenantTag);
            if (dec is not null && Now - issued > DirectoryTokenLifetime) stale = true; // directory delta tokens live ~7 days
            if (dec is null || stale || dec.Value.Kind != kind || dec.Value.Since > T.Seq)
            {
                if (stale || dec is not null) { Interlocked.Increment(ref sim.Faults.Stats.SyncStateNotFound); WriteError(resp, w, 400, "syncStateNotFound", "The sync state is not found or has expired. Please perform a full sync."); }
                else WriteError(resp, w, 400, "BadRequest", "Invalid $skiptoken or $deltatoken value.");
                return;
            }
            c = dec.Value;
            if (c.IsRoundStart) c = c with { Upto = T.Seq, Pos = 0, Sub = 0, Flags = 0 };
        }
        var select = c.Select is null ? null : new HashSet<string>(c.Select.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase);
        var full = c.Since == 0;
        w.WriteStartObject();
        w.WriteString("@odata.context", ctx);
        w.WriteStartArray("value");
        var written = 0;
        var pos = c.Pos;
        var sub = c.Sub;
        var pageSize = O.DirectoryPageSize;
        // quirk: the first page of a round may be empty but still carry a nextLink
        var emptyFirst = O.Quirks && pos == 0 && sub == 0 && (c.Flags & Cursor.EmptyPageDone) == 0 && c.Upto % 2 == 1;
        if (!emptyFirst)
        {
            if (users)
            {
                while (pos < T.Users.Count && written < pageSize)
                {
                    var u = T.Users[pos++];
                    if (!full && u.Seq <= c.Since) continue;
                    WriteUser(w, u, select, full);
                    written++;
                    // quirk: the same object twice in one round
                    if (O.Quirks && u.Index % 41 == 5 && !u.Deleted) { WriteUser(w, u, select, full); written++; }
                }
            }
            else
            {
                var withMembers = select?.Contains("members") ?? false;
                while (pos < T.Groups.Count && written < pageSize)
                {
                    var g = T.Groups[pos];
                    if (!full && g.Seq <= c.Since) { pos++; sub = 0; continue; }
                    var more = WriteGroup(w, g, select, full, c.Since, withMembers, sub, O.MembersPerPage, out var count);
                    written += 1 + count;
                    if (more) { sub += O.MembersPerPage; break; } // the rest of the members on the next page
                    pos++; sub = 0;
                }
            }
        }
        w.WriteEndArray();
        var count2 = users ? T.Users.Count : T.Groups.Count;
        if (emptyFirst) w.WriteString("@odata.nextLink", DirLink(users, c with { Flags = Cursor.EmptyPageDone }, delta: false));
        else if (pos >= count2) w.WriteString("@odata.deltaLink", DirLink(users, new Cursor(kind, 0, c.Upto, c.Upto, 0, 0, Cursor.RoundStart, c.Select), delta: true));
        else w.WriteString("@odata.nextLink", DirLink(users, c with { Pos = pos, Sub = sub, Flags = Cursor.EmptyPageDone }, delta: false));
        w.WriteEndObject();
    }

    private string DirLink(bool users, Cursor c, bool delta) =>
        $"{G}/{(users ? "users" : "groups")}/delta?{(delta ? "$deltatoken" : "$skiptoken")}={c.Encode(sim.TenantTag, Now)}";

    private static void WriteEmptyDeltaPage(Utf8JsonWriter w, string ctx, string deltaLink)
    {
        w.WriteStartObject();
        w.WriteString("@odata.context", ctx);
        w.WriteStartArray("value");
        w.WriteEndArray();
        w.WriteString("@odata.deltaLink", deltaLink);
        w.WriteEndObject();
    }

    private void WriteUser(Utf8JsonWriter w, User u, HashSet<string>? select, bool full)
    {
        w.WriteStartObject();
        if (u.Deleted)
        {
            w.WriteString("id", u.Id.ToString());
            w.WriteStartObject("@removed");
            w.WriteString("reason", u.HardDeleted ? "deleted" : "changed");
            w.WriteEndObject();
            w.WriteEndObject();
            return;
        }
        var props = select is null ? UserDefaultProps : select.Append("id").Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        foreach (var p in props)
        {
            switch (p.ToLowerInvariant())
            {
                case "id": w.WriteString("id", u.Id.ToString()); break;
                case "businessphones": w.WriteStartArray("businessPhones"); w.WriteEndArray(); break;
                case "displayname": w.WriteString("displayName", u.DisplayName); break;
                case "givenname": w.WriteString("givenName", u.GivenName); break;
                case "surname": w.WriteString("surname", u.Surname); break;
                case "jobtitle": Str(w, "jobTitle", u.JobTitle); break;
                case "mail": Str(w, "mail", u.Mail); break;
                case "mobilephone": w.WriteNull("mobilePhone"); break;
                case "officelocation": Str(w, "officeLocation", u.OfficeLocation); break;
                case "preferredlanguage": w.WriteString("preferredLanguage", "en-US"); break;
                case "userprincipalname": w.WriteString("userPrincipalName", u.Upn); break;
                case "accountenabled": w.WriteBoolean("accountEnabled", u.Enabled); break;
                case "usertype": w.WriteString("userType", u.Guest ? "Guest" : "Member"); break;
                case "department": Str(w, "department", u.Department); break;
                case "externaluserstate": Str(w, "externalUserState", u.Guest ? (u.PendingAcceptance ? "PendingAcceptance" : "Accepted") : null); break;
                case "createddatetime": w.WriteString("createdDateTime", Tenant.SeqTime(u.Index)); break;
                case "assignedlicenses":
                    w.WriteStartArray("assignedLicenses");
                    if (u.Drive >= 0) { w.WriteStartObject(); w.WriteStartArray("disabledPlans"); w.WriteEndArray(); w.WriteString("skuId", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"); w.WriteEndObject(); }
                    w.WriteEndArray();
                    break;
                default: break; // unknown properties are ignored
            }
        }
        w.WriteEndObject();
    }

    private void GetUser(GraphResponse resp, Utf8JsonWriter w, string key, string? select)
    {
        var u = FindUser(key);
        if (u is null || u.Deleted) { WriteError(resp, w, 404, "Request_ResourceNotFound", $"Resource '{key}' does not exist or one of its queried reference-property objects are not present."); return; }
        WriteUser(w, u, select is null ? null : new HashSet<string>(select.Split(','), StringComparer.OrdinalIgnoreCase), true);
    }

    private User? FindUser(string key)
    {
        if (Guid.TryParse(key, out var id)) return T.UserById.TryGetValue(id, out var i) ? T.Users[i] : null;
        return T.Users.FirstOrDefault(u => u.Upn.Equals(key, StringComparison.OrdinalIgnoreCase));
    }

    /// <returns>true when more members remain for a later page.</returns>
    private bool WriteGroup(Utf8JsonWriter w, Group g, HashSet<string>? select, bool full, long since, bool withMembers, int offset, int take, out int count)
    {
        count = 0;
        w.WriteStartObject();
        if (g.Deleted)
        {
            w.WriteString("id", g.Id.ToString());
            w.WriteStartObject("@removed");
            w.WriteString("reason", "changed");
            w.WriteEndObject();
            w.WriteEndObject();
            return false;
        }
        var props = select is null ? GroupDefaultProps : select.Where(s => !s.Equals("members", StringComparison.OrdinalIgnoreCase)).Append("id").Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        foreach (var p in props)
        {
            switch (p.ToLowerInvariant())
            {
                case "id": w.WriteString("id", g.Id.ToString()); break;
                case "displayname": w.WriteString("displayName", g.DisplayName); break;
                case "description": w.WriteString("description", g.Description); break;
                case "mail": Str(w, "mail", g.Mail); break;
                case "mailenabled": w.WriteBoolean("mailEnabled", g.MailEnabled); break;
                case "mailnickname": Str(w, "mailNickname", g.MailNickname); break;
                case "securityenabled": w.WriteBoolean("securityEnabled", g.SecurityEnabled); break;
                case "grouptypes":
                    w.WriteStartArray("groupTypes");
                    if (g.Unified) w.WriteStringValue("Unified");
                    w.WriteEndArray();
                    break;
                case "classification": w.WriteNull("classification"); break;
                case "visibility": Str(w, "visibility", g.Unified ? "Private" : null); break;
                case "createddatetime": w.WriteString("createdDateTime", Tenant.SeqTime(g.Index + 100)); break;
                default: break;
            }
        }
        var more = false;
        if (withMembers)
        {
            var list = new List<Membership>();
            foreach (var mi in g.Memberships)
            {
                var m = T.Memberships[mi];
                if (full ? !m.Deleted : m.Seq > since) list.Add(m);
            }
            if (list.Count > 0)
            {
                w.WriteStartArray("members@delta");
                for (var k = offset; k < list.Count && k < offset + take; k++)
                {
                    var m = list[k];
                    w.WriteStartObject();
                    w.WriteString("@odata.type", m.MemberIsGroup ? "#microsoft.graph.group" : "#microsoft.graph.user");
                    w.WriteString("id", (m.MemberIsGroup ? T.Groups[m.Member].Id : T.Users[m.Member].Id).ToString());
                    if (m.Deleted)
                    {
                        w.WriteStartObject("@removed");
                        w.WriteString("reason", "deleted");
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                    count++;
                }
                w.WriteEndArray();
                more = offset + take < list.Count;
            }
        }
        w.WriteEndObject();
        return more;
    }

    private static void Str(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }
}
