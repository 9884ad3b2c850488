using System.Text;
using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>Sites: getAllSites, a site, its subsites, drives and permissions.</summary>
internal sealed partial class GraphApi
{
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
}
