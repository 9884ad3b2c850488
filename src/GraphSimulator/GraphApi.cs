using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Sentinel.GraphSimulator;

internal sealed class GraphRequest
{
    public string Method = "GET";
    /// <summary>Decoded path after /v1.0, e.g. "/users/delta()".</summary>
    public string Path = "/";
    public Dictionary<string, string> Query = new(StringComparer.OrdinalIgnoreCase);
    public string? Prefer;
    public bool InBatch;
}

internal sealed class GraphResponse : IDisposable
{
    public int Status = 200;
    public readonly List<KeyValuePair<string, string>> Headers = [];
    public readonly PooledBuffer Body = new();
    public void Dispose() => Body.Dispose();
}

/// <summary>What a routed request is (for stats, RU and fault matching) and how to run it.</summary>
internal sealed class Route
{
    public string Endpoint = "unknown";
    public int Ru = 1;
    public bool SharePoint = true;
    public bool DriveDeltaWithToken, DirDeltaWithToken;
    public Action<GraphResponse, Utf8JsonWriter>? Run;
    public int Status = 200;
}

/// <summary>Graph v1.0 resources over the tenant model. All writers run under the tenant read lock.</summary>
internal sealed class GraphApi(Simulator sim)
{
    private Tenant T => sim.Tenant;
    private long Now => sim.Time.GetUtcNow().ToUnixTimeSeconds();
    /// <summary>Directory delta tokens expire after ~7 days (syncStateNotFound); drive tokens after 30 days (410 resync).</summary>
    public const long DirectoryTokenLifetime = 7 * 86400, DriveTokenLifetime = 30 * 86400;
    private string G => sim.GraphBaseUrl;
    private SimulatorOptions O => sim.Options;

    // ---------------------------------------------------------------- routing
    public Route Resolve(GraphRequest req)
    {
        var segs = req.Path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var r = new Route();
        if (req.Method != "GET") return Error(r, "method", 405, "BadRequest", "Only GET is simulated for this resource.");
        if (segs.Length == 0) return Error(r, "root", 404, "BadRequest", "Invalid request");
        var s0 = segs[0].ToLowerInvariant();
        switch (s0)
        {
            case "users" or "groups" when segs.Length == 2 && IsDelta(segs[1], out _):
            {
                var users = s0 == "users";
                var token = Q(req, "$skiptoken") ?? Q(req, "$deltatoken");
                r.Endpoint = users ? "users/delta" : "groups/delta";
                r.SharePoint = false;
                r.Ru = Q(req, "$select") is null ? 2 : 1;
                r.DirDeltaWithToken = token is not null && token != "latest";
                r.Run = (resp, w) => DirectoryDelta(req, resp, w, users ? CursorKind.Users : CursorKind.Groups, token);
                return r;
            }
            case "users" when segs.Length == 3 && segs[2].Equals("drive", StringComparison.OrdinalIgnoreCase):
                r.Endpoint = "users/drive"; r.Ru = 1;
                r.Run = (resp, w) => UserDrive(resp, w, segs[1], single: true);
                return r;
            case "users" when segs.Length == 3 && segs[2].Equals("drives", StringComparison.OrdinalIgnoreCase):
                r.Endpoint = "users/drives"; r.Ru = 2;
                r.Run = (resp, w) => UserDrive(resp, w, segs[1], single: false);
                return r;
            case "users" when segs.Length == 2:
                r.Endpoint = "users/{id}"; r.SharePoint = false; r.Ru = 1;
                r.Run = (resp, w) => GetUser(resp, w, segs[1], Q(req, "$select"));
                return r;
            case "sites" when segs.Length == 2 && IsGetAllSites(segs[1]):
                r.Endpoint = "sites/getAllSites"; r.Ru = 2;
                r.Run = (resp, w) => AllSites(req, resp, w);
                return r;
            case "sites" when segs.Length >= 2:
            {
                var siteKey = segs[1];
                if (segs.Length == 2) { r.Endpoint = "sites/{id}"; r.Ru = 1; r.Run = (resp, w) => GetSite(resp, w, siteKey); return r; }
                var sub = segs[2].ToLowerInvariant();
                if (segs.Length == 3 && sub == "drives") { r.Endpoint = "sites/{id}/drives"; r.Ru = 2; r.Run = (resp, w) => SiteDrives(resp, w, siteKey); return r; }
                if (segs.Length == 3 && sub == "sites") { r.Endpoint = "sites/{id}/sites"; r.Ru = 2; r.Run = (resp, w) => Subsites(resp, w, siteKey); return r; }
                if (segs.Length == 3 && sub == "drive") { r.Endpoint = "sites/{id}/drive"; r.Ru = 1; r.Run = (resp, w) => SiteDefaultDrive(resp, w, siteKey); return r; }
                if (segs.Length == 3 && sub == "permissions") { r.Endpoint = "sites/{id}/permissions"; r.Ru = 5; r.Run = (resp, w) => SitePermissions(resp, w, siteKey); return r; }
                return Error(r, "sites/other", 400, "BadRequest", $"Resource not found for the segment '{segs[2]}'.");
            }
            case "drives" when segs.Length >= 2:
                return DriveRoute(req, r, segs);
            default:
                return Error(r, "unknown", 400, "BadRequest", $"Resource not found for the segment '{segs[0]}'.");
        }
    }

    private Route DriveRoute(GraphRequest req, Route r, string[] segs)
    {
        var driveKey = segs[1];
        if (segs.Length == 2) { r.Endpoint = "drives/{id}"; r.Ru = 1; r.Run = (resp, w) => GetDrive(resp, w, driveKey); return r; }
        // /drives/{d}/root[/delta|/permissions] and /drives/{d}/items/{i}[/delta|/permissions]
        string itemKey; int rest;
        if (segs[2].Equals("root", StringComparison.OrdinalIgnoreCase)) { itemKey = "root"; rest = 3; }
        else if (segs[2].Equals("items", StringComparison.OrdinalIgnoreCase) && segs.Length >= 4) { itemKey = segs[3]; rest = 4; }
        else return Error(r, "drives/other", 400, "BadRequest", $"Resource not found for the segment '{segs[2]}'.");
        if (segs.Length == rest) { r.Endpoint = "drives/{id}/items/{id}"; r.Ru = 1; r.Run = (resp, w) => GetItem(resp, w, driveKey, itemKey); return r; }
        if (segs.Length == rest + 1 && IsDelta(segs[rest], out var pathToken))
        {
            if (!itemKey.Equals("root", StringComparison.OrdinalIgnoreCase))
                return Error(r, "drives/items/delta", 400, "invalidRequest", "Delta is only supported on the root of a drive in this simulator.");
            var token = pathToken ?? Q(req, "token") ?? Q(req, "$skiptoken") ?? Q(req, "$deltatoken");
            r.Endpoint = "drives/{id}/root/delta";
            r.DriveDeltaWithToken = token is not null && token != "latest";
            r.Ru = r.DriveDeltaWithToken ? 1 : 2;
            r.Run = (resp, w) => DriveDelta(req, resp, w, driveKey, token);
            return r;
        }
        if (segs.Length == rest + 1 && segs[rest].Equals("permissions", StringComparison.OrdinalIgnoreCase))
        {
            r.Endpoint = "drives/{id}/items/{id}/permissions"; r.Ru = 5;
            r.Run = (resp, w) => ItemPermissions(req, resp, w, driveKey, itemKey);
            return r;
        }
        if (segs.Length == rest + 1 && segs[rest].Equals("children", StringComparison.OrdinalIgnoreCase))
        {
            r.Endpoint = "drives/{id}/items/{id}/children"; r.Ru = 2;
            r.Run = (resp, w) => Children(resp, w, driveKey, itemKey);
            return r;
        }
        return Error(r, "drives/other", 400, "BadRequest", $"Resource not found for the segment '{segs[rest]}'.");
    }

    private static bool IsGetAllSites(string s) =>
        s.Equals("getAllSites", StringComparison.OrdinalIgnoreCase) || s.Equals("getAllSites()", StringComparison.OrdinalIgnoreCase)
        || s.Equals("oneDrive.getAllSites", StringComparison.OrdinalIgnoreCase) || s.Equals("microsoft.graph.getAllSites()", StringComparison.OrdinalIgnoreCase)
        || s.Equals("microsoft.graph.getAllSites", StringComparison.OrdinalIgnoreCase);

    /// <summary>delta, delta(), microsoft.graph.delta(), delta(token='…').</summary>
    private static bool IsDelta(string seg, out string? token)
    {
        token = null;
        var s = seg.StartsWith("microsoft.graph.", StringComparison.OrdinalIgnoreCase) ? seg[16..] : seg;
        if (s.Equals("delta", StringComparison.OrdinalIgnoreCase) || s.Equals("delta()", StringComparison.OrdinalIgnoreCase)) return true;
        if (!s.StartsWith("delta(", StringComparison.OrdinalIgnoreCase) || !s.EndsWith(')')) return false;
        var inner = s[6..^1];
        var eq = inner.IndexOf('=');
        if (eq < 0) return false;
        token = inner[(eq + 1)..].Trim('\'', '"');
        return true;
    }

    private static string? Q(GraphRequest req, string key) => req.Query.TryGetValue(key, out var v) ? v : null;

    private static Route Error(Route r, string endpoint, int status, string code, string message)
    {
        r.Endpoint = endpoint;
        r.Ru = 1;
        r.Run = (resp, w) => WriteError(resp, w, status, code, message);
        return r;
    }

    public static void WriteError(GraphResponse resp, Utf8JsonWriter w, int status, string code, string message, string? innerCode = null)
    {
        resp.Status = status;
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteStartObject("innerError");
        if (innerCode is not null) w.WriteString("code", innerCode);
        w.WriteString("date", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss"));
        var rid = Guid.NewGuid().ToString();
        w.WriteString("request-id", rid);
        w.WriteString("client-request-id", rid);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    // ---------------------------------------------------------------- directory
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

    // ---------------------------------------------------------------- sites
    private void AllSites(GraphRequest req, GraphResponse resp, Utf8JsonWriter w)
    {
        var start = 0;
        var skip = Q(req, "$skiptoken");
        if (skip is not null)
        {
            var (c, _, _) = Cursor.Decode(skip, sim.TenantTag);
            if (c is null || c.Value.Kind != CursorKind.Sites) { WriteError(resp, w, 400, "invalidRequest", "Invalid skip token."); return; }
            start = c.Value.Pos;
        }
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#sites");
        w.WriteStartArray("value");
        var pos = start;
        var n = 0;
        while (pos < T.Sites.Count && n < O.SitesPageSize)
        {
            var s = T.Sites[pos++];
            if (!T.SiteLive(s) || s.ParentSite >= 0) continue; // subsites come from /sites/{id}/sites
            WriteSite(w, s);
            n++;
        }
        w.WriteEndArray();
        if (pos < T.Sites.Count)
            w.WriteString("@odata.nextLink", $"{G}/sites/oneDrive.getAllSites?$skiptoken={new Cursor(CursorKind.Sites, 0, 0, 0, pos, 0, 0, null).Encode(sim.TenantTag, Now)}");
        w.WriteEndObject();
    }

    private Site? FindSite(string key)
    {
        if (key.Equals("root", StringComparison.OrdinalIgnoreCase)) return T.Sites.Count > 0 ? T.Sites[0] : null;
        if (T.SiteById.TryGetValue(key, out var i)) return T.Sites[i];
        // host,collectionId form or bare collection id
        return T.Sites.FirstOrDefault(s => key.Equals($"{T.SpHost},{s.CollectionId}", StringComparison.OrdinalIgnoreCase)
            || key.Equals(s.CollectionId.ToString(), StringComparison.OrdinalIgnoreCase));
    }

    private void GetSite(GraphResponse resp, Utf8JsonWriter w, string key)
    {
        var s = FindSite(key);
        if (s is null || !T.SiteLive(s)) { WriteError(resp, w, 404, "itemNotFound", "Requested site could not be found"); return; }
        WriteSite(w, s, context: true);
    }

    /// <summary>GET /sites/{id}/sites: the direct subsites (webs) of a site.</summary>
    private void Subsites(GraphResponse resp, Utf8JsonWriter w, string key)
    {
        var s = FindSite(key);
        if (s is null || !T.SiteLive(s)) { WriteError(resp, w, 404, "itemNotFound", "Requested site could not be found"); return; }
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#sites('{s.Id}')/sites");
        w.WriteStartArray("value");
        foreach (var c in T.Sites) if (c.ParentSite == s.Index && T.SiteLive(c)) WriteSite(w, c);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteSite(Utf8JsonWriter w, Site s, bool context = false)
    {
        w.WriteStartObject();
        if (context) w.WriteString("@odata.context", $"{G}/$metadata#sites/$entity");
        w.WriteString("createdDateTime", Tenant.SeqTime(s.Index + 10));
        w.WriteString("description", s.Description);
        w.WriteString("id", s.Id);
        w.WriteString("lastModifiedDateTime", Tenant.SeqTime(s.Seq));
        w.WriteString("name", s.Name);
        w.WriteString("webUrl", s.WebUrl);
        w.WriteString("displayName", s.Name);
        if (s.Root) { w.WriteStartObject("root"); w.WriteEndObject(); }
        if (s.Personal) w.WriteBoolean("isPersonalSite", true);
        w.WriteStartObject("siteCollection");
        w.WriteString("hostname", T.SpHost);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void SiteDrives(GraphResponse resp, Utf8JsonWriter w, string key)
    {
        var s = FindSite(key);
        if (s is null || !T.SiteLive(s)) { WriteError(resp, w, 404, "itemNotFound", "Requested site could not be found"); return; }
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#drives");
        w.WriteStartArray("value");
        foreach (var d in s.Drives) if (!T.Drives[d].Deleted) WriteDrive(w, T.Drives[d]);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void SiteDefaultDrive(GraphResponse resp, Utf8JsonWriter w, string key)
    {
        var s = FindSite(key);
        if (s is null || s.Deleted || s.Drives.Count == 0) { WriteError(resp, w, 404, "itemNotFound", "Requested site could not be found"); return; }
        WriteDrive(w, T.Drives[s.Drives[0]], context: true);
    }

    private void SitePermissions(GraphResponse resp, Utf8JsonWriter w, string key)
    {
        var s = FindSite(key);
        if (s is null || s.Deleted) { WriteError(resp, w, 404, "itemNotFound", "Requested site could not be found"); return; }
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#sites('{s.Id}')/permissions");
        w.WriteStartArray("value");
        w.WriteStartObject();
        w.WriteString("id", Jwt.B64(Encoding.UTF8.GetBytes($"i:0i.t|ms.sp.ext|{sim.ClientId}@{sim.TenantId}")));
        w.WriteStartArray("roles"); w.WriteStringValue("read"); w.WriteEndArray();
        foreach (var name in new[] { "grantedToIdentitiesV2", "grantedToIdentities" })
        {
            w.WriteStartArray(name);
            w.WriteStartObject();
            w.WriteStartObject("application");
            w.WriteString("id", sim.ClientId);
            w.WriteString("displayName", "Princeton Sentinel");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    // ---------------------------------------------------------------- drives
    private Drive? FindDrive(string key) => T.DriveById.TryGetValue(key, out var d) ? T.Drives[d] : null;

    private void GetDrive(GraphResponse resp, Utf8JsonWriter w, string key)
    {
        var d = FindDrive(key);
        if (d is null || d.Deleted) { WriteError(resp, w, 404, "itemNotFound", "The item could not be found."); return; }
        WriteDrive(w, d, context: true);
    }

    private void UserDrive(GraphResponse resp, Utf8JsonWriter w, string key, bool single)
    {
        var u = FindUser(key);
        if (u is null || u.Deleted) { WriteError(resp, w, 404, "Request_ResourceNotFound", $"Resource '{key}' does not exist or one of its queried reference-property objects are not present."); return; }
        if (u.Drive < 0 || T.Drives[u.Drive].Deleted)
        {
            if (sim.Faults.Config.OneDriveErrorVariants)
            {
                switch (u.Index % 3)
                {
                    case 0: WriteError(resp, w, 400, "UnknownError", "Unable to retrieve user's mysite URL."); return;
                    case 1: WriteError(resp, w, 404, "UnknownError", "404 FILE NOT FOUND"); return;
                    default: WriteError(resp, w, 403, "accessDenied", ""); return;
                }
            }
            WriteError(resp, w, 404, "ResourceNotFound", "User's mysite not found.");
            return;
        }
        if (single) { WriteDrive(w, T.Drives[u.Drive], context: true); return; }
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#drives");
        w.WriteStartArray("value");
        WriteDrive(w, T.Drives[u.Drive]);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteDrive(Utf8JsonWriter w, Drive d, bool context = false)
    {
        w.WriteStartObject();
        if (context) w.WriteString("@odata.context", $"{G}/$metadata#drives/$entity");
        w.WriteString("createdDateTime", Tenant.SeqTime(d.Seq));
        w.WriteString("description", d.Site >= 0 ? $"{d.Name} of {T.Sites[d.Site].Name}" : "");
        w.WriteString("id", d.Id);
        w.WriteString("lastModifiedDateTime", Tenant.SeqTime(d.Seq));
        w.WriteString("name", d.Name);
        w.WriteString("webUrl", d.WebUrl);
        w.WriteString("driveType", d.DriveType);
        w.WriteStartObject("createdBy");
        w.WriteStartObject("user");
        w.WriteString("displayName", "System Account");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("owner");
        if (d.Owner >= 0)
        {
            var u = T.Users[d.Owner];
            w.WriteStartObject("user");
            w.WriteString("email", u.Mail ?? u.Upn);
            w.WriteString("id", u.Id.ToString());
            w.WriteString("displayName", u.DisplayName);
            w.WriteEndObject();
        }
        else
        {
            var s = T.Sites[d.Site];
            w.WriteStartObject("group");
            w.WriteString("id", s.CollectionId.ToString());
            w.WriteString("displayName", s.Name + " Owners");
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartObject("quota");
        w.WriteNumber("deleted", 0);
        w.WriteNumber("remaining", 1099511627776L);
        w.WriteString("state", "normal");
        w.WriteNumber("total", 1099511627776L);
        w.WriteNumber("used", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private int FindItem(Drive d, string key)
    {
        if (key.Equals("root", StringComparison.OrdinalIgnoreCase)) return d.Root;
        var i = T.ParseItemId(key);
        return i >= 0 && T.ItemDrive[i] == d.Index ? i : -1;
    }

    private void GetItem(GraphResponse resp, Utf8JsonWriter w, string driveKey, string itemKey)
    {
        var d = FindDrive(driveKey);
        var i = d is null ? -1 : FindItem(d, itemKey);
        if (d is null || i < 0 || T.IsDeleted(i)) { WriteError(resp, w, 404, "itemNotFound", "The resource could not be found."); return; }
        WriteItem(w, i, withPath: true, since: 0, prefer: null);
        sim.Faults.Stats.DriveItemsServed++;
    }

    private void Children(GraphResponse resp, Utf8JsonWriter w, string driveKey, string itemKey)
    {
        var d = FindDrive(driveKey);
        var i = d is null ? -1 : FindItem(d, itemKey);
        if (d is null || i < 0 || T.IsDeleted(i)) { WriteError(resp, w, 404, "itemNotFound", "The resource could not be found."); return; }
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#drives('{d.Id}')/items('{T.ItemId(i)}')/children");
        w.WriteStartArray("value");
        foreach (var c in d.Items) if (T.ItemParent[c] == i && !T.IsDeleted(c)) WriteItem(w, c, withPath: true, since: 0, prefer: null);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void DriveDelta(GraphRequest req, GraphResponse resp, Utf8JsonWriter w, string driveKey, string? token)
    {
        var d = FindDrive(driveKey);
        if (d is null || d.Deleted) { WriteError(resp, w, 404, "itemNotFound", "The resource could not be found."); return; }
        var ctx = $"{G}/$metadata#Collection(driveItem)";
        Cursor c;
        if (token == "latest")
        {
            WriteEmptyDeltaPage(w, ctx, DriveLink(d, new Cursor(CursorKind.Drive, d.Index, T.Seq, T.Seq, 0, 0, Cursor.RoundStart, null), delta: true));
            return;
        }
        // $top sets the page size for the whole round (carried in the links, like Graph)
        var top = Q(req, "$top") is { } ts && int.TryParse(ts, out var tv) && tv > 0 ? Math.Min(tv, 1000) : 0;
        if (token is null) c = new Cursor(CursorKind.Drive, d.Index, 0, T.Seq, 0, top, 0, null);
        else
        {
            var (dec, stale, issued) = Cursor.Decode(token, sim.TenantTag);
            if (dec is not null && Now - issued > DriveTokenLifetime) stale = true;
            if (dec is null || stale || dec.Value.Kind != CursorKind.Drive || dec.Value.Scope != d.Index || dec.Value.Since > T.Seq)
            {
                if (stale || dec is not null) WriteResync(resp, w, d);
                else WriteError(resp, w, 400, "invalidRequest", "Invalid token.");
                return;
            }
            c = dec.Value;
            if (c.IsRoundStart) c = c with { Upto = T.Seq, Pos = 0, Flags = 0, Sub = top > 0 ? top : c.Sub };
        }
        var full = c.Since == 0;
        w.WriteStartObject();
        w.WriteString("@odata.context", ctx);
        w.WriteStartArray("value");
        var pos = c.Pos;
        var written = 0;
        var emptyFirst = O.Quirks && pos == 0 && (c.Flags & Cursor.EmptyPageDone) == 0 && d.Index % 5 == 1;
        var (childrenFirst, pageOverride) = sim.Faults.DriveDeltaShape();
        childrenFirst &= !full;
        if (!emptyFirst)
        {
            var items = d.Items;
            var pageSize = c.Sub > 0 ? c.Sub : pageOverride is > 0 ? pageOverride.Value : O.PageSize;
            HashSet<int>? chainDone = null;
            Span<int> chain = stackalloc int[64];
            while (pos < items.Count && written < pageSize)
            {
                // children first: latest-created first, so a child comes before its parent (the cursor position still counts up)
                var i = childrenFirst ? items[items.Count - 1 - pos++] : items[pos++];
                if (full)
                {
                    WriteItem(w, i, false, 0, req.Prefer);
                    written++;
                    if (O.Quirks && i % 97 == 13 && !T.IsDeleted(i)) { WriteItem(w, i, false, 0, req.Prefer); written++; }
                    continue;
                }
                if (T.ItemSeq[i] <= c.Since) continue;
                if (!T.IsDeleted(i) && !childrenFirst)
                {
                    // changed items come with their parent chain (root first)
                    chainDone ??= [];
                    var n = 0;
                    for (var p = T.ItemParent[i]; p >= 0 && n < 64; p = T.ItemParent[p]) chain[n++] = p;
                    for (var k = n - 1; k >= 0; k--)
                    {
                        if (!chainDone.Add(chain[k])) continue;
                        WriteItem(w, chain[k], false, c.Since, req.Prefer);
                        written++;
                    }
                }
                WriteItem(w, i, false, c.Since, req.Prefer);
                written++;
            }
        }
        Interlocked.Add(ref sim.Faults.Stats.DriveItemsServed, written);
        w.WriteEndArray();
        if (emptyFirst) w.WriteString("@odata.nextLink", DriveLink(d, c with { Flags = Cursor.EmptyPageDone }, delta: false));
        else if (pos >= d.Items.Count) w.WriteString("@odata.deltaLink", DriveLink(d, new Cursor(CursorKind.Drive, d.Index, c.Upto, c.Upto, 0, c.Sub, Cursor.RoundStart, null), delta: true));
        else w.WriteString("@odata.nextLink", DriveLink(d, c with { Pos = pos, Flags = Cursor.EmptyPageDone }, delta: false));
        w.WriteEndObject();
    }

    public void WriteResync(GraphResponse resp, Utf8JsonWriter w, Drive d)
    {
        Interlocked.Increment(ref sim.Faults.Stats.Resyncs410);
        var fresh = new Cursor(CursorKind.Drive, d.Index, 0, T.Seq, 0, 0, Cursor.EmptyPageDone, null);
        resp.Headers.Add(new("Location", DriveLink(d, fresh, delta: false)));
        WriteError(resp, w, 410, "resyncChangesApplyDifferences",
            "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd. Upload any local changes that the server doesn't know about.",
            "resyncChangesApplyDifferences");
    }

    /// <summary>Token styles vary by drive: ?token=… or delta(token='…'); the SDK-style items/root path for odd drives.</summary>
    private string DriveLink(Drive d, Cursor c, bool delta)
    {
        var tok = c.Encode(sim.TenantTag, Now);
        return (d.Index % 2 == 0) == delta
            ? $"{G}/drives/{d.Id}/root/delta(token='{tok}')"
            : $"{G}/drives/{d.Id}/items/root/delta?token={tok}";
    }

    public string DirectoryResyncLink(bool users) =>
        $"{G}/{(users ? "users" : "groups")}/delta?$skiptoken={new Cursor(users ? CursorKind.Users : CursorKind.Groups, 0, 0, T.Seq, 0, 0, Cursor.EmptyPageDone, null).Encode(sim.TenantTag, Now)}";

    private static bool PreferHas(string? prefer, string token) => prefer is not null && prefer.Contains(token, StringComparison.OrdinalIgnoreCase);

    private static readonly JsonEncodedText PType = JsonEncodedText.Encode("@odata.type"), VDriveItem = JsonEncodedText.Encode("#microsoft.graph.driveItem"),
        PId = JsonEncodedText.Encode("id"), PName = JsonEncodedText.Encode("name"), PCreated = JsonEncodedText.Encode("createdDateTime"),
        PModified = JsonEncodedText.Encode("lastModifiedDateTime"), PETag = JsonEncodedText.Encode("eTag"), PCTag = JsonEncodedText.Encode("cTag"),
        PWebUrl = JsonEncodedText.Encode("webUrl"), PSize = JsonEncodedText.Encode("size"), PCreatedBy = JsonEncodedText.Encode("createdBy"),
        PModifiedBy = JsonEncodedText.Encode("lastModifiedBy"), PUser = JsonEncodedText.Encode("user"), PEmail = JsonEncodedText.Encode("email"),
        PDisplayName = JsonEncodedText.Encode("displayName"), PParentRef = JsonEncodedText.Encode("parentReference"), PDriveType = JsonEncodedText.Encode("driveType"),
        PDriveId = JsonEncodedText.Encode("driveId"), PSiteId = JsonEncodedText.Encode("siteId"), PPath = JsonEncodedText.Encode("path"),
        PRoot = JsonEncodedText.Encode("root"), PFolder = JsonEncodedText.Encode("folder"), PChildCount = JsonEncodedText.Encode("childCount"),
        PFile = JsonEncodedText.Encode("file"), PMime = JsonEncodedText.Encode("mimeType"), PHashes = JsonEncodedText.Encode("hashes"),
        PQuickXor = JsonEncodedText.Encode("quickXorHash"), PFsInfo = JsonEncodedText.Encode("fileSystemInfo"), PDeleted = JsonEncodedText.Encode("deleted"),
        PState = JsonEncodedText.Encode("state"), VDeleted = JsonEncodedText.Encode("deleted"), PShared = JsonEncodedText.Encode("shared"),
        PScope = JsonEncodedText.Encode("scope"), PSharedChanged = JsonEncodedText.Encode("@microsoft.graph.sharedChanged"),
        VBusiness = JsonEncodedText.Encode("business"), VDocLib = JsonEncodedText.Encode("documentLibrary");

    private void WriteItem(Utf8JsonWriter w, int i, bool withPath, long since, string? prefer)
    {
        var d = T.Drives[T.ItemDrive[i]];
        var folder = T.IsFolder(i);
        var parent = T.ItemParent[i];
        w.WriteStartObject();
        w.WriteString(PType, VDriveItem);
        if (T.IsDeleted(i))
        {
            w.WriteString(PId, T.ItemId(i));
            if (!O.Quirks) w.WriteString(PName, T.ItemName(i)); // business drives omit the name of deleted items
            w.WriteString(PModified, Tenant.SeqDate(T.ItemSeq[i]));
            WriteParentRef(w, d, parent, false);
            w.WriteStartObject(PDeleted);
            w.WriteString(PState, VDeleted);
            w.WriteEndObject();
            w.WriteStartObject(folder ? PFolder : PFile);
            w.WriteEndObject();
            w.WriteEndObject();
            return;
        }
        var ver = T.ItemSeq[i];
        var created = Tenant.SeqDate(T.ItemCreatedSeq[i]);
        var modified = Tenant.SeqDate(ver);
        Span<char> tag = stackalloc char[64];
        w.WriteString(PCreated, created);
        tag[0] = '"'; tag[1] = '{';
        T.FormatItemGuid(i, tag[2..]);
        var n = 38;
        tag[n++] = '}'; tag[n++] = ',';
        ver.TryFormat(tag[n..], out var vl);
        n += vl;
        tag[n++] = '"';
        w.WriteString(PETag, tag[..n]);
        w.WriteString(PId, T.ItemId(i));
        w.WriteString(PModified, modified);
        Span<char> name = stackalloc char[256];
        var nameLen = T.FormatName(i, name);
        w.WriteString(PName, name[..nameLen]);
        Span<char> url = stackalloc char[2048];
        w.WriteString(PWebUrl, url[..T.FormatWebUrl(i, name[..nameLen], url)]);
        Span<char> ctag = stackalloc char[68];
        ctag[0] = '"'; ctag[1] = 'c'; ctag[2] = ':';
        tag[1..n].CopyTo(ctag[3..]);
        w.WriteString(PCTag, ctag[..(n + 2)]);
        w.WriteNumber(PSize, T.ItemSize(i));
        var actor = d.Owner >= 0 ? T.Users[d.Owner] : T.Users[(int)((uint)i % (uint)Math.Min(T.Users.Count, 50))];
        WriteActor(w, PCreatedBy, actor);
        WriteActor(w, PModifiedBy, actor);
        WriteParentRef(w, d, parent, withPath);
        if (parent < 0) { w.WriteStartObject(PRoot); w.WriteEndObject(); }
        if (folder)
        {
            w.WriteStartObject(PFolder);
            w.WriteNumber(PChildCount, T.ChildCount[i]);
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject(PFile);
            w.WriteString(PMime, T.MimeType(i));
            w.WriteStartObject(PHashes);
            Span<byte> hb = stackalloc byte[20];
            BitConverter.TryWriteBytes(hb, Rng.Hash((ulong)ver, (ulong)i));
            BitConverter.TryWriteBytes(hb[8..], Rng.Hash((ulong)i, (ulong)ver));
            Span<char> hc = stackalloc char[28];
            Convert.TryToBase64Chars(hb, hc, out var hl);
            w.WriteString(PQuickXor, hc[..hl]);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteStartObject(PFsInfo);
        w.WriteString(PCreated, created);
        w.WriteString(PModified, modified);
        w.WriteEndObject();
        // Prefer: hierarchicalsharing → the `shared` facet only on roots of permission hierarchies (empty = unique but
        // unshared); items without it inherit from their parent. sharedChanged only on files (msgraph-sdk-java#2548) and
        // sometimes missing when access was removed (onedrive-api-docs#1248): deterministic per (seed, item, change).
        if (T.IsPermissionRoot(i))
        {
            var scope = T.SharedScope(i);
            if (scope is not null)
            {
                w.WriteStartObject(PShared);
                w.WriteString(PScope, scope);
                w.WriteEndObject();
            }
            else if (PreferHas(prefer, "hierarchicalsharing"))
            {
                w.WriteStartObject(PShared); // unique but unshared
                w.WriteEndObject();
            }
        }
        if (!folder && since > 0 && T.PermSeq.TryGetValue(i, out var ps) && ps > since
            && PreferHas(prefer, "deltashowsharingchanges") && PreferHas(prefer, "deltashowremovedasdeleted") && PreferHas(prefer, "deltatraversepermissiongaps")
            && !RemovalAnnotationMissing(i, ps))
        {
            w.WriteString(PSharedChanged, "True");
        }
        w.WriteEndObject();
    }

    /// <summary>onedrive-api-docs#1248: the annotation may be missing when access was removed — for one removal in four
    /// (deterministic from seed, item and change), or for every removal with the fault switch on.</summary>
    private bool RemovalAnnotationMissing(int i, long permSeq) =>
        T.PermRemovalOnly.TryGetValue(i, out var removal) && removal
        && (sim.Faults.Config.SharedChangedMissingOnRemoval || (Rng.Hash((ulong)T.Seed * 131 + (ulong)i, (ulong)permSeq) & 3) == 0);

    private static void WriteActor(Utf8JsonWriter w, JsonEncodedText name, User actor)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(actor.ActorJson, skipInputValidation: true);
    }

    private void WriteParentRef(Utf8JsonWriter w, Drive d, int parent, bool withPath)
    {
        w.WriteStartObject(PParentRef);
        w.WriteString(PDriveType, d.DriveType == "business" ? VBusiness : VDocLib);
        w.WriteString(PDriveId, d.IdJson);
        if (parent >= 0)
        {
            w.WriteString(PId, T.ItemId(parent));
            if (withPath)
            {
                var pp = T.ItemPath(parent);
                w.WriteString(PName, parent == d.Root ? d.Name : T.ItemName(parent));
                w.WriteString(PPath, $"/drives/{d.Id}/root:{(pp == "/" ? "" : pp)}");
            }
        }
        if (d.Site >= 0) w.WriteString(PSiteId, T.Sites[d.Site].IdJson);
        w.WriteEndObject();
    }

    // ---------------------------------------------------------------- permissions
    private void ItemPermissions(GraphRequest req, GraphResponse resp, Utf8JsonWriter w, string driveKey, string itemKey)
    {
        var d = FindDrive(driveKey);
        var i = d is null ? -1 : FindItem(d, itemKey);
        if (d is null || i < 0 || T.IsDeleted(i)) { WriteError(resp, w, 404, "itemNotFound", "The resource could not be found."); return; }
        if (!PermissionsPage(req, resp, w, out var start)) return;
        var listUrl = $"{G}/drives/{d.Id}/items/{T.ItemId(i)}/permissions";
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{G}/$metadata#drives('{d.Id}')/items('{T.ItemId(i)}')/permissions");
        w.WriteStartArray("value");
        // Effective permissions: the item's hierarchy root's (driveitem-list-permissions). Inherited entries carry no
        // usable inheritedFrom in SharePoint (absent or {}: microsoft-graph-devx-api#223, onedrive-api-docs#1261).
        var root = T.PermissionRoot(i);
        var emptyInheritedFrom = root != i && (Rng.Hash((ulong)T.Seed, (ulong)i * 17 + 3) & 1) == 0;
        var live = T.LivePermissions(root).ToList();
        foreach (var p in live.Skip(start).Take(O.PermissionsPageSize)) WritePermission(w, p, d, i, emptyInheritedFrom);
        w.WriteEndArray();
        WritePermissionsNextLink(w, listUrl, start, live.Count);
        w.WriteEndObject();
    }

    /// <summary>The page start from $skiptoken (0 without one); false when the token is not ours (400 written).</summary>
    private bool PermissionsPage(GraphRequest req, GraphResponse resp, Utf8JsonWriter w, out int start)
    {
        start = 0;
        if (Q(req, "$skiptoken") is not { } skip) return true;
        var (c, _, _) = Cursor.Decode(skip, sim.TenantTag);
        if (c is null || c.Value.Kind != CursorKind.Permissions) { WriteError(resp, w, 400, "invalidRequest", "Invalid skip token."); return false; }
        start = c.Value.Pos;
        return true;
    }

    private void WritePermissionsNextLink(Utf8JsonWriter w, string listUrl, int start, int count)
    {
        var next = start + O.PermissionsPageSize;
        if (next < count)
            w.WriteString("@odata.nextLink", $"{listUrl}?$skiptoken={new Cursor(CursorKind.Permissions, 0, 0, 0, next, 0, 0, null).Encode(sim.TenantTag, Now)}");
    }

    private void WritePermission(Utf8JsonWriter w, Permission p, Drive d, int item, bool emptyInheritedFrom = false)
    {
        w.WriteStartObject();
        w.WriteString("id", p.Id);
        if (emptyInheritedFrom) { w.WriteStartObject("inheritedFrom"); w.WriteEndObject(); }
        w.WriteStartArray("roles");
        foreach (var r in p.Roles) w.WriteStringValue(r);
        w.WriteEndArray();
        if (p.ShareId is not null) w.WriteString("shareId", p.ShareId);
        if (p.LinkScope is not null)
        {
            if (p.Expiration is not null) w.WriteString("expirationDateTime", p.Expiration);
            w.WriteBoolean("hasPassword", p.HasPassword);
            w.WriteStartObject("link");
            w.WriteString("scope", p.LinkScope);
            w.WriteString("type", p.LinkType);
            if (p.LinkScope != "existingAccess" && p.ShareId is not null)
                w.WriteString("webUrl", $"https://{T.SpHost}/:w:/g/{(d.Site >= 0 ? "" : "personal/")}{p.ShareId[2..]}");
            w.WriteBoolean("preventsDownload", p.PreventsDownload);
            w.WriteEndObject();
            if (p.Identities.Count > 0)
            {
                w.WriteStartArray("grantedToIdentitiesV2");
                foreach (var g in p.Identities) WriteIdentitySet(w, g, v2: true);
                w.WriteEndArray();
                w.WriteStartArray("grantedToIdentities");
                foreach (var g in p.Identities) WriteIdentitySet(w, g, v2: false);
                w.WriteEndArray();
            }
        }
        if (p.GrantedTo is not null)
        {
            w.WritePropertyName("grantedToV2");
            WriteIdentitySet(w, p.GrantedTo, v2: true);
            if (p.GrantedTo.Type != "siteGroup")
            {
                w.WritePropertyName("grantedTo");
                WriteIdentitySet(w, p.GrantedTo, v2: false);
            }
        }
        if (p.InvitationEmail is not null)
        {
            w.WriteStartObject("invitation");
            w.WriteString("email", p.InvitationEmail);
            w.WriteBoolean("signInRequired", true);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteSiteIdentity(Utf8JsonWriter w, string facet, string? displayName, string? email, string id, string? loginName)
    {
        w.WriteStartObject(facet);
        w.WriteString("displayName", displayName);
        if (email is not null) w.WriteString("email", email);
        w.WriteString("id", id);
        w.WriteString("loginName", loginName);
        w.WriteEndObject();
    }

    private static void WriteIdentitySet(Utf8JsonWriter w, Grant g, bool v2)
    {
        w.WriteStartObject();
        if (!v2)
        {
            // deprecated identitySet: user/application only
            w.WriteStartObject(g.Type == "application" ? "application" : "user");
            w.WriteString("displayName", g.DisplayName);
            if (g.Email is not null) w.WriteString("email", g.Email);
            if (g.Type is "user" or "application") w.WriteString("id", g.Id);
            w.WriteEndObject();
            w.WriteEndObject();
            return;
        }
        switch (g.Type)
        {
            case "user" or "group":
                w.WriteStartObject(g.Type);
                if (g.Type == "user") w.WriteString("@odata.type", "#microsoft.graph.sharePointIdentity");
                w.WriteString("displayName", g.DisplayName);
                if (g.Email is not null) w.WriteString("email", g.Email);
                w.WriteString("id", g.Id);
                w.WriteEndObject();
                if (g.SiteUserId is not null) WriteSiteIdentity(w, "siteUser", g.DisplayName, g.Email, g.SiteUserId, g.LoginName);
                break;
            case "siteUser":
                WriteSiteIdentity(w, "siteUser", g.DisplayName, g.Email, g.Id, g.LoginName);
                break;
            case "siteGroup":
                WriteSiteIdentity(w, "siteGroup", g.DisplayName, null, g.Id, g.LoginName);
                break;
            case "application":
                w.WriteStartObject("application");
                w.WriteString("displayName", g.DisplayName);
                w.WriteString("id", g.Id);
                w.WriteEndObject();
                break;
        }
        w.WriteEndObject();
    }
}
