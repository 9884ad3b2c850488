using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>Drives and drive items: GET drive/item/children and drive delta.</summary>
internal sealed partial class GraphApi
{
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
        var (childrenFirst, pageOverride, fullChildrenFirst, fullRepeats) = sim.Faults.DriveDeltaShape();
        childrenFirst = full ? fullChildrenFirst : childrenFirst;
        if (!emptyFirst)
        {
            var items = d.Items;
            var pageSize = c.Sub > 0 ? c.Sub : pageOverride is > 0 ? pageOverride.Value : O.PageSize;
            HashSet<int>? chainDone = null;
            Span<int> chain = stackalloc int[64];
            if (full && fullRepeats && pos > 0)
            {
                // the previous page's last item again
                WriteItem(w, childrenFirst ? items[items.Count - pos] : items[pos - 1], false, 0, req.Prefer);
                written++;
            }
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

    /// <remarks>Its stack buffers (≈ 5 KB) are not zeroed first: every one is written before the part of it that is read
    /// (zeroing them was ≈ a tenth of the simulator's CPU in a full load of `large`).</remarks>
    [System.Runtime.CompilerServices.SkipLocalsInit]
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
        Span<char> id = stackalloc char[34];
        T.FormatItemId(i, id);
        w.WriteString(PId, id);
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
            hb[16..].Clear();
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
            Span<char> pid = stackalloc char[34];
            T.FormatItemId(parent, pid);
            w.WriteString(PId, pid);
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
}
