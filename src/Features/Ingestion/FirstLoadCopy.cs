using System.Runtime.InteropServices;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The write path of a drive's first round during a first full load (the item table was empty when the phase began,
/// the round started here from its beginning): every item is new, so a page is one binary COPY of the columns the
/// page merge would write, extracted here, with paths and permission roots computed from the folders this round has
/// already written (kept in memory, folders only) instead of read back from the table. It writes exactly the row the
/// merge writes for a new item (FirstLoadCopyTests compares the two over a whole tenant).
/// Anything the COPY cannot state as a plain insert sends the page, and the rest of the round, back to the merge:
/// an id already in the table (Graph may repeat an item across pages of a round, or an item moved in from another
/// drive: the COPY fails on the primary key inside a savepoint), a value SQL would convert differently (a size that
/// is not an integer, a timestamp without a zone or finer than a microsecond), a resync, or more folders than
/// <see cref="MaxFolders"/>. Items whose parent the round has not delivered yet get no path (as in the merge); when
/// the parent arrives, or at the round's end, their subtrees are walked in the table.
/// </summary>
internal sealed class FirstLoadCopy
{
    /// <summary>
    /// Folders remembered per round (id, path, permission root): ≈ 200 bytes each, so ≈ 40 MB for the largest round and
    /// ≈ 320 MB if eight such rounds ran at once (the worker's budget is 600 MB); a drive with more folders goes on by merge.
    /// </summary>
    public const int MaxFolders = 200_000;

    private const string CopySql = """
        COPY msgraph_drive_items (id, drive_id, name, web_url, parent_id, path, is_folder, size, mime_type, file_hash_sha1, created_dt, modified_dt,
            created_by_user_id, last_modified_by_user_id, synced_at, deleted_at, raw, is_root, c_tag, permissions_dirty, has_unique_permissions,
            permission_root_id) FROM STDIN (FORMAT BINARY)
        """;

    /// <summary>Subtrees below items whose parent arrived late (or never): walked from the parent's row in the table.</summary>
    private const string AwaitedSql = """
        SELECT id AS Id, drive_id AS DriveId, path AS Path FROM msgraph_drive_items
        WHERE drive_id = @DriveId AND id = ANY(@Ids) AND deleted_at IS NULL AND path IS NOT NULL
        """;

    private readonly string _driveId;
    private readonly Dictionary<string, (string? Path, string? Root)> _folders = new(StringComparer.Ordinal);
    /// <summary>Parents that items of this round named before the round delivered them.</summary>
    private readonly HashSet<string> _awaited = new(StringComparer.Ordinal);

    /// <summary>
    /// Page COPYs of all rounds at once: at zero Graph latency eight concurrent streams into one table's indexes cost the
    /// server more than four (1M items: 57.6 s with 8 rounds, 51.3 s with 4, 81.7 s with 2, whose fetching and parsing
    /// no longer overlap the writes); with Graph latency the rounds wait for Graph, not for this.
    /// </summary>
    public const int MaxWriters = 4;

    private readonly SemaphoreSlim _writers;

    private readonly int _maxFolders;

    public FirstLoadCopy(string driveId, SemaphoreSlim writers, int maxFolders = MaxFolders)
    {
        _driveId = driveId;
        _writers = writers;
        _maxFolders = maxFolders;
    }

    /// <summary>False once the round went back to the merge (for good).</summary>
    public bool Active { get; private set; } = true;

    /// <summary>
    /// Copies the page: the rows written, how many of them deleted items, and whether one was a deleted folder (the
    /// round-end cascade starts only from those: every row here is new, a deleted item without the folder facet is
    /// stored as a file); null (nothing written, the transaction usable) when the merge must take it.
    /// </summary>
    public async Task<(int Rows, int Removed, bool RemovedFolder)?> TryCopyAsync(NpgsqlConnection c, NpgsqlTransaction tx, JsonElement value, DeltaPageContext ctx, CancellationToken ct)
    {
        if (Prepare(value, ctx) is not { } page) return null;
        if (await CopyAsync(c, tx, [(this, page)], ctx, _writers, ct)) return await AfterCopyAsync(c, tx, page, ct);
        Active = false;
        return null;
    }

    /// <summary>
    /// The first rounds of several drives that were each one page (most drives of a tenant: a OneDrive of a few dozen
    /// files), in one COPY and, after it, each round's end: the rows written, how many deleted, whether one was a deleted folder; null
    /// (nothing written, the transaction usable) when the merge must take them all.
    /// </summary>
    public static async Task<(int Rows, int Removed, bool RemovedFolder)?> TryCopyRoundsAsync(NpgsqlConnection c, NpgsqlTransaction tx,
        IReadOnlyList<(FirstLoadCopy Copy, JsonElement Value)> rounds, DeltaPageContext ctx, SemaphoreSlim writers, CancellationToken ct)
    {
        var pages = new List<(FirstLoadCopy Copy, Dictionary<string, Item> Page)>(rounds.Count);
        foreach (var (copy, value) in rounds)
        {
            if (copy.Prepare(value, ctx) is not { } page) return null;
            pages.Add((copy, page));
        }
        if (!await CopyAsync(c, tx, pages, ctx, writers, ct)) return null;
        var (rows, removed, removedFolder) = (0, 0, false);
        foreach (var (copy, page) in pages)
        {
            var (n, gone, folder) = await copy.AfterCopyAsync(c, tx, page, ct);
            await copy.EndRoundAsync(c, tx, ct);
            rows += n;
            removed += gone;
            removedFolder |= folder;
        }
        return (rows, removed, removedFolder);
    }

    /// <summary>The page's items with the values the merge would compute; null (and the merge from now on) when it cannot be copied.</summary>
    private Dictionary<string, Item>? Prepare(JsonElement value, DeltaPageContext ctx)
    {
        if (!Active || !ctx.WholeRoundHere || !ctx.Sweep) return FallbackPage();
        var page = new Dictionary<string, Item>(StringComparer.Ordinal);
        foreach (var e in value.EnumerateArray())
        {
            if (!e.TryGetProperty("id", out var idProp) || idProp.GetString() is not { Length: > 0 } id) continue;
            if (Item.Parse(id, e) is not { } item) return FallbackPage();
            page[id] = item; // last wins, as in the merge
        }
        foreach (var item in page.Values) Resolve(item, page, 0);
        return page;
    }

    /// <summary>One COPY of the pages (each of its own drive) inside a savepoint: false, rolled back, when an id is already in the table.</summary>
    private static async Task<bool> CopyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<(FirstLoadCopy Copy, Dictionary<string, Item> Page)> pages,
        DeltaPageContext ctx, SemaphoreSlim writers, CancellationToken ct)
    {
        await tx.SaveAsync("first_load_copy", ct);
        await writers.WaitAsync(ct);
        try
        {
            await using var rows = await BinaryCopyRows.BeginAsync(c, CopySql, ct);
            foreach (var (copy, page) in pages)
                foreach (var i in page.Values)
                {
                    copy.Write(rows, i, ctx);
                    await rows.EndRowAsync(ct);
                }
            await rows.CompleteAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await tx.RollbackAsync("first_load_copy", ct);
            return false;
        }
        finally
        {
            writers.Release();
        }
        await tx.ReleaseAsync("first_load_copy", ct);
        return true;
    }

    private async Task<(int Rows, int Removed, bool RemovedFolder)> AfterCopyAsync(NpgsqlConnection c, NpgsqlTransaction tx, Dictionary<string, Item> page, CancellationToken ct)
    {
        foreach (var i in page.Values)
            if (i.IsParent && !i.Removed) _folders[i.Id] = (i.Path, i.Root);
        if (_folders.Count > _maxFolders) Active = false;
        // Items copied earlier below a parent that arrived only now: their subtrees are walked from it.
        var arrived = page.Values.Where(i => !i.Removed && i.Path is not null && _awaited.Remove(i.Id)).ToList();
        foreach (var i in page.Values)
            if (i.Orphan) _awaited.Add(i.ParentId!);
        if (arrived.Count > 0) await WalkAsync(c, tx, arrived.Select(a => (a.Id, a.Path!)).ToList(), ct);
        return (page.Count, page.Values.Count(i => i.Removed), page.Values.Any(i => i.Removed && i.IsFolder));
    }

    private Dictionary<string, Item>? FallbackPage()
    {
        Active = false;
        return null;
    }

    /// <summary>Round end: subtrees whose parent the round delivered too early to know, or never (its row in the table decides).</summary>
    public async Task EndRoundAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
    {
        if (_awaited.Count == 0) return;
        var starts = (await c.QueryAsync<(string Id, string DriveId, string Path)>(new CommandDefinition(AwaitedSql,
            new { DriveId = _driveId, Ids = _awaited.ToArray() }, tx, cancellationToken: ct))).Select(s => (s.Id, s.Path)).ToList();
        _awaited.Clear();
        if (starts.Count > 0) await WalkAsync(c, tx, starts, ct);
    }

    private Task WalkAsync(NpgsqlConnection c, NpgsqlTransaction tx, List<(string Id, string Path)> starts, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition(IngestDriveItemsDelta.PathWalkSql, new
        {
            StartIds = starts.Select(s => s.Id).ToArray(), StartDrives = starts.Select(_ => _driveId).ToArray(), StartPaths = starts.Select(s => s.Path).ToArray(),
        }, tx, cancellationToken: ct));

    /// <summary>
    /// The merge's path and permission root of a live item: the drive root is "/" and its own root; below a parent with
    /// a path, parent path + "/" + name (none without a name); an item with the shared facet is its own root, any
    /// other takes its parent's. Unknown, deleted or pathless parents give no path.
    /// </summary>
    private (string? Path, string? Root) Resolve(Item item, Dictionary<string, Item> page, int depth)
    {
        if (item.Resolved || item.Removed) return (item.Path, item.Root);
        item.Resolved = true; // a cycle reads the unresolved (null) values
        if (item.IsRoot)
        {
            (item.Path, item.Root) = ("/", item.Id);
            return (item.Path, item.Root);
        }
        (string? Path, string? Root)? parent = null;
        if (item.ParentId is { } p)
        {
            if (page.TryGetValue(p, out var inPage))
            {
                if (!inPage.Removed)
                {
                    // below a page item without a path the merge's walk through the page never reaches: no path, no root
                    parent = depth < 1000 ? Resolve(inPage, page, depth + 1) : (null, null);
                    if (parent.Value.Path is null) return (null, null);
                }
            }
            else if (_folders.TryGetValue(p, out var known)) parent = known;
            else item.Orphan = true;
        }
        item.Path = parent?.Path is not { } pp || item.Name is null ? null : pp == "/" ? "/" + item.Name : pp + "/" + item.Name;
        item.Root = item.Shared ? item.Id : parent?.Root;
        return (item.Path, item.Root);
    }

    private void Write(BinaryCopyRows w, Item i, DeltaPageContext ctx)
    {
        w.StartRow(22);
        w.Text(i.Id);
        w.Text(_driveId);
        w.Text(i.Name);
        w.Utf8(i.Removed ? default : i.WebUrl);
        w.Text(i.ParentId);
        w.Text(i.Path);
        // a deletion is stored as the merge's "gone" insert does: the folder facet only, the column defaults otherwise
        w.Bool(i.Removed ? i.IsFolder : i.IsFolder || i.IsRoot);
        w.Int64(i.Removed ? null : i.Size);
        w.Utf8(i.Removed ? default : i.MimeType);
        w.Utf8(i.Removed ? default : i.Sha1);
        w.Timestamp(i.Removed ? null : i.Created);
        w.Timestamp(i.Removed ? null : i.Modified);
        w.Utf8(i.Removed ? default : i.CreatedBy);
        w.Utf8(i.Removed ? default : i.ModifiedBy);
        w.Timestamp(ctx.Now.UtcDateTime);
        w.Timestamp(i.Removed ? ctx.Now.UtcDateTime : null);
        w.Jsonb(JsonMarshal.GetRawUtf8Value(i.Element));
        w.Bool(!i.Removed && i.IsRoot);
        w.Utf8(i.Removed ? default : i.CTag);
        w.Bool(i.Removed || i.SharedChanged);
        w.Bool(!i.Removed && (i.IsRoot || i.Shared));
        w.Text(i.Removed ? null : i.Root);
    }

    /// <summary>One page item, with the values the merge's SQL would extract from its JSON (null where SQL gives NULL).</summary>
    private sealed class Item
    {
        public required string Id { get; init; }
        /// <summary>The item in its page's document (alive until the page is written): its JSON is copied once, into the COPY.</summary>
        public required JsonElement Element { get; init; }
        public bool Removed, IsRoot, IsFolder, IsParent, Shared, SharedChanged, Resolved, Orphan;
        public string? Name, ParentId, Path, Root;
        /// <summary>Strings only written (a JSON string, or default for NULL): copied as UTF-8 from the page, no .NET string each.</summary>
        public JsonElement WebUrl, MimeType, Sha1, CreatedBy, ModifiedBy, CTag;
        public long? Size;
        public DateTime? Created, Modified;

        /// <summary>
        /// Null when a value is not one the COPY can state exactly as the merge's SQL would. One pass over the item's
        /// properties (a lookup by name walks them all each time: ≈ 15 lookups per item were a tenth of the worker's
        /// CPU in a full load); a repeated name keeps its last value, as jsonb does.
        /// </summary>
        public static Item? Parse(string id, JsonElement e)
        {
            JsonElement name = default, webUrl = default, cTag = default, parentRef = default, file = default, createdBy = default,
                modifiedBy = default, size = default, created = default, modified = default, sharedChanged = default;
            var item = new Item { Id = id, Element = e };
            foreach (var p in e.EnumerateObject())
            {
                var n = JsonMarshal.GetRawUtf8PropertyName(p);
                if (n.IndexOf((byte)'\\') >= 0) return null; // an escaped name: Graph sends none, the merge decides
                var v = p.Value;
                switch (n.Length)
                {
                    case 4:
                        if (n.SequenceEqual("name"u8)) name = v;
                        else if (n.SequenceEqual("root"u8)) item.IsRoot = true;
                        else if (n.SequenceEqual("file"u8)) file = v;
                        else if (n.SequenceEqual("size"u8)) size = v;
                        else if (n.SequenceEqual("cTag"u8)) cTag = v;
                        break;
                    case 6:
                        if (n.SequenceEqual("webUrl"u8)) webUrl = v;
                        else if (n.SequenceEqual("folder"u8)) item.IsFolder = true;
                        else if (n.SequenceEqual("shared"u8)) item.Shared = true;
                        break;
                    case 7:
                        if (n.SequenceEqual("deleted"u8)) item.Removed = true;
                        else if (n.SequenceEqual("package"u8)) item.IsParent = true;
                        break;
                    case 8:
                        if (n.SequenceEqual("@removed"u8)) item.Removed = true;
                        break;
                    case 9:
                        if (n.SequenceEqual("createdBy"u8)) createdBy = v;
                        break;
                    case 14:
                        if (n.SequenceEqual("lastModifiedBy"u8)) modifiedBy = v;
                        break;
                    case 15:
                        if (n.SequenceEqual("parentReference"u8)) parentRef = v;
                        else if (n.SequenceEqual("createdDateTime"u8)) created = v;
                        break;
                    case 20:
                        if (n.SequenceEqual("lastModifiedDateTime"u8)) modified = v;
                        break;
                    case 30:
                        if (n.SequenceEqual("@microsoft.graph.sharedChanged"u8)) sharedChanged = v;
                        break;
                }
            }
            // OneNote notebooks (package facet) have children too
            item.IsParent = item.IsParent || item.IsRoot || item.IsFolder;
            if (!Str(name, out item.Name) || !Utf8(webUrl, out item.WebUrl) || !Utf8(cTag, out item.CTag)) return null;
            if (parentRef.ValueKind == JsonValueKind.Object)
            {
                if (!Str(Property(parentRef, "id"), out item.ParentId)) return null;
            }
            else if (!Absent(parentRef)) return null;
            if (file.ValueKind == JsonValueKind.Object)
            {
                if (!Utf8(Property(file, "mimeType"), out item.MimeType)) return null;
                var hashes = Property(file, "hashes");
                if (hashes.ValueKind == JsonValueKind.Object) { if (!Utf8(Property(hashes, "sha1Hash"), out item.Sha1)) return null; }
                else if (!Absent(hashes)) return null;
            }
            else if (!Absent(file)) return null;
            if (!UserId(createdBy, out item.CreatedBy) || !UserId(modifiedBy, out item.ModifiedBy)) return null;
            if (!Absent(size))
            {
                // TryGetInt64 refuses fractions and exponents, as the SQL cast to bigint does
                if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out var sz)) return null;
                item.Size = sz;
            }
            if (!Timestamp(created, out item.Created) || !Timestamp(modified, out item.Modified)) return null;
            // SQL: lower(raw->>'@microsoft.graph.sharedChanged') = 'true' ("True" as Graph sends it, or a JSON true)
            if (sharedChanged.ValueKind != JsonValueKind.Undefined)
            {
                if (sharedChanged.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.String or JsonValueKind.Null)) return null;
                item.SharedChanged = sharedChanged.ValueKind == JsonValueKind.True
                    || (sharedChanged.ValueKind == JsonValueKind.String && string.Equals(sharedChanged.GetString(), "true", StringComparison.OrdinalIgnoreCase));
            }
            return item;
        }

        /// <summary>A property of a small nested object (default: absent).</summary>
        private static JsonElement Property(JsonElement e, string name) => e.TryGetProperty(name, out var p) ? p : default;

        /// <summary>A string or absent/null value (other kinds: SQL's ->> would give their JSON text).</summary>
        private static bool Str(JsonElement p, out string? value)
        {
            value = null;
            if (Absent(p)) return true;
            if (p.ValueKind != JsonValueKind.String) return false;
            value = p.GetString();
            return true;
        }

        /// <summary><see cref="Str"/> for a value only written: the string element itself (default for absent/null).</summary>
        private static bool Utf8(JsonElement p, out JsonElement value)
        {
            value = default;
            if (Absent(p)) return true;
            if (p.ValueKind != JsonValueKind.String) return false;
            value = p;
            return true;
        }

        private static bool Absent(JsonElement p) => p.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;

        private static bool UserId(JsonElement by, out JsonElement id)
        {
            id = default;
            if (Absent(by)) return true;
            if (by.ValueKind != JsonValueKind.Object) return false;
            var user = Property(by, "user");
            if (Absent(user)) return true;
            return user.ValueKind == JsonValueKind.Object && Utf8(Property(user, "id"), out id);
        }

        /// <summary>ISO 8601 with a zone (Graph's form); no zone would take the server's, finer than a microsecond its rounding.</summary>
        private static bool Timestamp(JsonElement p, out DateTime? value)
        {
            value = null;
            if (Absent(p)) return true;
            if (p.ValueKind != JsonValueKind.String) return false;
            // the raw token with its quotes; an escaped one goes to the merge
            var raw = JsonMarshal.GetRawUtf8Value(p);
            if (raw.Length < 13 || raw.IndexOf((byte)'\\') >= 0) return false;
            var s = raw[1..^1];
            if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || !(s[^1] == 'Z' || s[^6] is (byte)'+' or (byte)'-')) return false;
            // ISO 8601 (what the checks above admit): the same instant as PostgreSQL's timestamptz input
            if (!p.TryGetDateTimeOffset(out var t) || t.UtcTicks % 10 != 0) return false;
            value = t.UtcDateTime;
            return true;
        }
    }
}
