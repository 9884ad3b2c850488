using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>Item permissions and the identity sets they carry.</summary>
internal sealed partial class GraphApi
{
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
