using System.Text;

namespace Sentinel.GraphSimulator;

internal sealed class User
{
    public int Index;
    public Guid Id;
    private string? _idText;
    public string IdText => _idText ??= Id.ToString();
    public string DisplayName = "", GivenName = "", Surname = "", Upn = "";
    public string? Mail, JobTitle, Department, OfficeLocation;
    public bool Enabled = true, Guest, Deleted, HardDeleted;
    /// <summary>Guest invited but never redeemed (externalUserState PendingAcceptance).</summary>
    public bool PendingAcceptance;
    public string? AppRole;
    public int Drive = -1;
    public long Seq;
    public string ExternalEmail => Mail ?? Upn;
    private byte[]? _actorJson;
    /// <summary>{"user":{"email","id","displayName"}} as UTF-8, cached (createdBy/lastModifiedBy of every item).</summary>
    public byte[] ActorJson => _actorJson ??= System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { user = new { email = Mail ?? Upn, id = IdText, displayName = DisplayName } }));
}

internal sealed class Group
{
    public int Index;
    public Guid Id;
    public string DisplayName = "", Description = "";
    public string? Mail, MailNickname;
    public bool MailEnabled, SecurityEnabled, Unified, Deleted;
    public int Site = -1;
    public long Seq;
    public readonly List<int> Memberships = [];
}

internal sealed class Membership
{
    public int Group, Member;
    public bool MemberIsGroup, Deleted;
    public long Seq;
}

internal sealed class Site
{
    public int Index;
    public string Id = "", Name = "", WebUrl = "", Description = "";
    public Guid CollectionId, WebId;
    private System.Text.Json.JsonEncodedText? _idJson;
    public System.Text.Json.JsonEncodedText IdJson => _idJson ??= System.Text.Json.JsonEncodedText.Encode(Id);
    public bool Root, Deleted;
    /// <summary>A OneDrive's personal site (listed by getAllSites, isPersonalSite): its one drive is <see cref="PersonalDrive"/>.</summary>
    public bool Personal;
    public int PersonalDrive = -1;
    /// <summary>The site this one is a subsite (web) of; -1 for a site collection (the only kind getAllSites lists).</summary>
    public int ParentSite = -1;
    public long Seq;
    public readonly List<int> Drives = [];
}

internal sealed class Drive
{
    public int Index;
    public string Id = "", Name = "", DriveType = "documentLibrary", WebUrl = "";
    public int Site = -1, Owner = -1, Root = -1;
    private System.Text.Json.JsonEncodedText? _idJson;
    public System.Text.Json.JsonEncodedText IdJson => _idJson ??= System.Text.Json.JsonEncodedText.Encode(Id);
    public bool Deleted;
    public long Seq;
    /// <summary>Item indexes of this drive, in creation order (the order delta walks).</summary>
    public readonly List<int> Items = [];
}

/// <summary>One identity set (grantedToV2 / an entry of grantedToIdentitiesV2).</summary>
internal sealed class Grant
{
    /// <summary>user | group | application | siteUser | siteGroup | invitation (the truth's principalType).</summary>
    public string Type = "user";
    public string Id = "";
    public string DisplayName = "";
    public string? Email;
    /// <summary>siteUser / siteGroup login name; guests carry #ext#.</summary>
    public string? LoginName;
    /// <summary>Also emit a siteUser facet next to the user/group facet (what SharePoint does).</summary>
    public string? SiteUserId;
    /// <summary>"Everyone except external users" / "Everyone" claims (organisation-wide).</summary>
    public bool IsOrgWide => LoginName is not null && (LoginName.StartsWith("c:0-.f|rolemanager|spo-grid-all-users", StringComparison.OrdinalIgnoreCase)
        || LoginName.Equals("c:0(.s|true", StringComparison.OrdinalIgnoreCase));
    public bool IsExternal => Type == "invitation" || (LoginName?.Contains("#ext#", StringComparison.OrdinalIgnoreCase) ?? false)
        || (LoginName?.Contains("urn:spo:guest", StringComparison.OrdinalIgnoreCase) ?? false);
}

internal sealed class Permission
{
    public string Id = "";
    public int Item;
    public string[] Roles = ["read"];
    public string? LinkType, LinkScope, ShareId;
    /// <summary>Exactly as Graph returns it ("0001-01-01T00:00:00Z" = no expiry, which the truth reports as null).</summary>
    public string? Expiration;
    public bool PreventsDownload, HasPassword, Deleted;
    /// <summary>A base permission of the hierarchy (the site's Owners/Members/Visitors groups, a OneDrive's owner): not "sharing".</summary>
    public bool Base;
    /// <summary>The permission this one was copied from when inheritance was broken (same id), or null.</summary>
    public Permission? CopiedFrom;

    /// <summary>A copy for an item that breaks inheritance: SharePoint copies the parent's role assignments (same ids).</summary>
    public Permission CopyFor(int item, long seq) => new()
    {
        Id = Id, Item = item, Roles = Roles, LinkType = LinkType, LinkScope = LinkScope, ShareId = ShareId, Expiration = Expiration,
        PreventsDownload = PreventsDownload, HasPassword = HasPassword, Base = Base, GrantedTo = GrantedTo, Identities = Identities,
        InvitationEmail = InvitationEmail, Seq = seq, CopiedFrom = this,
    };
    /// <summary>grantedToV2 (direct grants) — null for links.</summary>
    public Grant? GrantedTo;
    /// <summary>grantedToIdentitiesV2 (links shared with specific people).</summary>
    public List<Grant> Identities = [];
    /// <summary>Unredeemed invitation: email + signInRequired, no grantee.</summary>
    public string? InvitationEmail;
    public long Seq;
}

/// <summary>
/// The whole synthetic tenant. Drive items are struct-of-arrays (no object per item) so the large profile
/// (1M items) stays compact; their names are derived from the index unless renamed or created later.
/// Every change stamps the entity with the next tenant sequence number; delta tokens carry sequence numbers.
/// </summary>
internal sealed class Tenant
{
    public const string Epoch = "2026-01-01T00:00:00Z";
    public static readonly DateTimeOffset EpochTime = DateTimeOffset.Parse(Epoch);

    public readonly int Seed;
    public readonly string Domain, TenantName, SpHost, MyHost;
    public long Seq;

    public readonly List<User> Users = [];
    public readonly List<Group> Groups = [];
    public readonly List<Membership> Memberships = [];
    public readonly List<Site> Sites = [];
    public readonly List<Drive> Drives = [];
    public readonly Dictionary<Guid, int> UserById = [];
    public readonly Dictionary<Guid, int> GroupById = [];
    public readonly Dictionary<string, int> SiteById = new(StringComparer.OrdinalIgnoreCase);
    public readonly Dictionary<string, int> DriveById = new(StringComparer.Ordinal);
    public readonly Dictionary<(int, int), int> MembershipByPair = [];

    // ---- drive items, struct of arrays ----
    public int ItemCount;
    public int[] ItemDrive = new int[1024];
    public int[] ItemParent = new int[1024];
    public long[] ItemSeq = new long[1024];
    public long[] ItemCreatedSeq = new long[1024];
    public byte[] ItemFlags = new byte[1024];
    public readonly Dictionary<int, string> NameOverrides = [];
    public readonly Dictionary<int, List<Permission>> PermissionsByItem = [];
    /// <summary>Sequence number of the last permission change per item (drives @microsoft.graph.sharedChanged).</summary>
    public readonly Dictionary<int, long> PermSeq = [];
    public readonly Dictionary<int, bool> PermRemovalOnly = [];
    /// <summary>Folder child counts (live children) for folder.childCount.</summary>
    public int[] ChildCount = new int[1024];

    public const byte FolderFlag = 1, DeletedFlag = 2;

    private readonly ulong _idTag;
    private readonly string _idTagText;

    public Tenant(int seed, string domain)
    {
        Seed = seed;
        Domain = domain;
        TenantName = domain.Split('.')[0];
        SpHost = $"{TenantName}.sharepoint.com";
        MyHost = $"{TenantName}-my.sharepoint.com";
        _idTag = Rng.Hash((ulong)seed, 0xD1);
        _idTagText = Base32(_idTag, 8);
    }

    public bool IsFolder(int i) => (ItemFlags[i] & FolderFlag) != 0;
    public bool IsDeleted(int i) => (ItemFlags[i] & DeletedFlag) != 0;

    public int AddItem(int drive, int parent, bool folder, string? name)
    {
        if (ItemCount == ItemDrive.Length)
        {
            var n = ItemDrive.Length * 2;
            Array.Resize(ref ItemDrive, n);
            Array.Resize(ref ItemParent, n);
            Array.Resize(ref ItemSeq, n);
            Array.Resize(ref ItemCreatedSeq, n);
            Array.Resize(ref ItemFlags, n);
            Array.Resize(ref ChildCount, n);
        }
        var i = ItemCount++;
        ItemDrive[i] = drive;
        ItemParent[i] = parent;
        ItemFlags[i] = folder ? FolderFlag : (byte)0;
        ItemSeq[i] = ++Seq;
        ItemCreatedSeq[i] = Seq;
        if (name is not null) NameOverrides[i] = name;
        if (parent >= 0) ChildCount[parent]++;
        Drives[drive].Items.Add(i);
        return i;
    }

    // ---- ids ----
    private static readonly char[] B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".ToCharArray();

    private static string Base32(ulong v, int chars)
    {
        var c = new char[chars];
        for (var k = chars - 1; k >= 0; k--) { c[k] = B32[v & 31]; v >>= 5; }
        return new string(c);
    }

    private const ulong Mul = 0x9E3779B1UL;
    private static readonly ulong MulInv = Inverse32(Mul);

    private static ulong Inverse32(ulong a)
    {
        ulong x = a; // Newton: x = x * (2 - a*x), doubling correct bits each step
        for (var k = 0; k < 5; k++) x = (x * (2 - a * x)) & 0xFFFFFFFFUL;
        return x;
    }

    /// <summary>34-char SharePoint-style item id ("01" + tenant tag + permuted index + filler), decodable without a lookup table.</summary>
    public string ItemId(int i) => string.Create(34, (i, this), static (span, s) => s.Item2.FormatItemId(s.i, span));

    /// <summary><see cref="ItemId"/> into a span of 34 chars (the delta pages write two per item: no string each).</summary>
    public void FormatItemId(int i, Span<char> span)
    {
        var p = ((ulong)(uint)i * Mul) & 0xFFFFFFFFUL;
        span[0] = '0'; span[1] = '1';
        _idTagText.AsSpan().CopyTo(span[2..]);
        var v = p;
        for (var k = 17; k >= 10; k--) { span[k] = B32[v & 31]; v >>= 5; }
        var f = Rng.Hash(_idTag, (ulong)i);
        for (var k = 18; k < 34; k++) { span[k] = B32[f & 31]; f >>= 4; if (k == 25) f = Rng.Mix(f + 7); }
    }

    public int ParseItemId(string id)
    {
        if (id.Length != 34 || !id.StartsWith("01", StringComparison.Ordinal) || !id.AsSpan(2, 8).SequenceEqual(_idTagText)) return -1;
        ulong v = 0;
        for (var k = 10; k < 18; k++)
        {
            var d = Array.IndexOf(B32, id[k]);
            if (d < 0) return -1;
            v = (v << 5) | (uint)d;
        }
        if (v > 0xFFFFFFFFUL) return -1;
        var i = (long)((v * MulInv) & 0xFFFFFFFFUL);
        if (i >= ItemCount) return -1;
        return ItemId((int)i) == id ? (int)i : -1;
    }

    // ---- names ----
    private static readonly string[] Adjectives = ["Quarterly", "Annual", "Draft", "Final", "Internal", "Confidential", "Shared", "Project", "Team", "Client", "Budget", "Legal", "Board", "Sales", "Vendor", "Réunion", "Q3", "Weekly", "Strategy", "Onboarding"];
    private static readonly string[] Nouns = ["Report", "Plan", "Notes", "Forecast", "Contract", "Invoice", "Summary", "Proposal", "Roadmap", "Review", "Minutes", "Budget", "Checklist", "Presentation", "Analysis", "Agreement", "Brief", "Specs", "Deck", "Memo"];
    private static readonly string[] FolderWords = ["Projects", "Archive", "Clients", "Finance", "HR", "Marketing", "Contracts", "2024", "2025", "Templates", "Shared", "Planning", "Research", "Legal & Compliance", "Q1", "Q2", "Drafts", "Board Packs", "Résumés", "Ops #1"];
    private static readonly string[] Extensions = [".docx", ".xlsx", ".pptx", ".pdf", ".txt", ".png", ".jpg", ".csv", ".msg", ".zip"];
    private static readonly string[] Mimes = ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/pdf", "text/plain", "image/png", "image/jpeg", "text/csv", "application/vnd.ms-outlook", "application/zip"];

    /// <summary>Writes the name into dest (≥ 256 chars) and returns its length, allocating only for overrides.</summary>
    public int FormatName(int i, Span<char> dest)
    {
        if (NameOverrides.TryGetValue(i, out var n))
        {
            var len = Math.Min(n.Length, dest.Length);
            n.AsSpan(0, len).CopyTo(dest);
            return len;
        }
        var h = Rng.Hash(_idTag, (ulong)i * 31 + 5);
        int written;
        if (ItemParent[i] < 0) { "root".AsSpan().CopyTo(dest); return 4; }
        if (IsFolder(i)) dest.TryWrite($"{FolderWords[h % (ulong)FolderWords.Length]} {i}", out written);
        else dest.TryWrite($"{Adjectives[h % 20]} {Nouns[(h >> 8) % 20]} {i}{Extensions[(h >> 16) % 10]}", out written);
        return written;
    }

    /// <summary>Percent-encodes src (RFC 3986 unreserved kept, UTF-8 otherwise) into dest; returns the length.</summary>
    public static int EscapeSegment(ReadOnlySpan<char> src, Span<char> dest)
    {
        const string hex = "0123456789ABCDEF";
        var n = 0;
        Span<byte> utf8 = stackalloc byte[4];
        for (var k = 0; k < src.Length; k++)
        {
            var c = src[k];
            if (c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '.' or '_' or '~')
            {
                dest[n++] = c;
                continue;
            }
            int bytes;
            if (char.IsHighSurrogate(c) && k + 1 < src.Length)
            {
                bytes = System.Text.Encoding.UTF8.GetBytes(src.Slice(k, 2), utf8);
                k++;
            }
            else bytes = System.Text.Encoding.UTF8.GetBytes(src.Slice(k, 1), utf8);
            for (var b = 0; b < bytes; b++)
            {
                dest[n++] = '%';
                dest[n++] = hex[utf8[b] >> 4];
                dest[n++] = hex[utf8[b] & 15];
            }
        }
        return n;
    }

    /// <summary>The item's webUrl into dest (≥ 2048 chars); returns the length.</summary>
    public int FormatWebUrl(int i, ReadOnlySpan<char> name, Span<char> dest)
    {
        var d = Drives[ItemDrive[i]];
        if (ItemParent[i] < 0) { d.WebUrl.AsSpan().CopyTo(dest); return d.WebUrl.Length; }
        var pu = FolderUrl(ItemParent[i]);
        if (pu.Length + 1 + name.Length * 9 > dest.Length) { var s = ItemWebUrl(i); s.AsSpan().CopyTo(dest); return s.Length; }
        pu.AsSpan().CopyTo(dest);
        dest[pu.Length] = '/';
        return pu.Length + 1 + EscapeSegment(name, dest[(pu.Length + 1)..]);
    }

    public string ItemName(int i)
    {
        if (NameOverrides.TryGetValue(i, out var n)) return n;
        var h = Rng.Hash(_idTag, (ulong)i * 31 + 5);
        if (ItemParent[i] < 0) return "root";
        if (IsFolder(i)) return $"{FolderWords[h % (ulong)FolderWords.Length]} {i}";
        return $"{Adjectives[h % 20]} {Nouns[(h >> 8) % 20]} {i}{Extensions[(h >> 16) % 10]}";
    }

    public string MimeType(int i)
    {
        int k;
        if (NameOverrides.TryGetValue(i, out var n)) k = Array.IndexOf(Extensions, Path.GetExtension(n));
        else k = (int)((Rng.Hash(_idTag, (ulong)i * 31 + 5) >> 16) % 10);
        return k < 0 ? "application/octet-stream" : Mimes[k];
    }

    public long ItemSize(int i) => IsFolder(i) ? 0 : (long)(Rng.Hash(_idTag, (ulong)i * 7 + ItemSeqVersion(i)) % 5_000_000) + 120;
    public ulong ItemSeqVersion(int i) => (ulong)ItemSeq[i];

    public static string SeqTime(long seq) => EpochTime.AddSeconds(seq * 7).ToString("yyyy-MM-ddTHH:mm:ssZ");
    /// <summary>UTC DateTime: Utf8JsonWriter writes it as "yyyy-MM-ddTHH:mm:ssZ" without formatting strings.</summary>
    public static DateTime SeqDate(long seq) => EpochTime.UtcDateTime.AddSeconds(seq * 7);

    /// <summary>Escaped webUrl per folder; cleared by every mutation batch (renames/moves change descendants' URLs).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _folderUrls = new();
    /// <summary>Entries in <see cref="_folderUrls"/>, roughly: ConcurrentDictionary.Count takes every one of its locks (up to
    /// 1,024), which cost the simulator ≈ 40 % of its CPU in a full load when read on every cache miss.</summary>
    private int _folderUrlCount;

    private string FolderUrl(int folder)
    {
        if (_folderUrls.TryGetValue(folder, out var url)) return url;
        url = SlowWebUrl(folder);
        if (Volatile.Read(ref _folderUrlCount) < 500_000 && _folderUrls.TryAdd(folder, url)) Interlocked.Increment(ref _folderUrlCount);
        return url;
    }

    public void ClearFolderUrls()
    {
        _folderUrls.Clear();
        Volatile.Write(ref _folderUrlCount, 0);
    }

    /// <summary>"/" for a root, "/A/B/c.docx" otherwise.</summary>
    public string ItemPath(int i)
    {
        if (ItemParent[i] < 0) return "/";
        Span<int> chain = stackalloc int[64];
        var n = 0;
        for (var c = i; ItemParent[c] >= 0 && n < 64; c = ItemParent[c]) chain[n++] = c;
        var sb = new StringBuilder();
        for (var k = n - 1; k >= 0; k--) sb.Append('/').Append(ItemName(chain[k]));
        return sb.ToString();
    }

    public string ItemWebUrl(int i)
    {
        var d = Drives[ItemDrive[i]];
        if (ItemParent[i] < 0) return d.WebUrl;
        var pu = FolderUrl(ItemParent[i]);
        return string.Concat(pu, "/", Uri.EscapeDataString(ItemName(i)));
    }

    private string SlowWebUrl(int i)
    {
        var d = Drives[ItemDrive[i]];
        if (ItemParent[i] < 0) return d.WebUrl;
        var path = ItemPath(i);
        var sb = new StringBuilder(d.WebUrl.Length + path.Length + 16).Append(d.WebUrl);
        foreach (var seg in path.Split('/', StringSplitOptions.RemoveEmptyEntries)) sb.Append('/').Append(Uri.EscapeDataString(seg));
        return sb.ToString();
    }

    /// <summary>Upper-case GUID text (36 chars) into dest.</summary>
    public void FormatItemGuid(int i, Span<char> dest)
    {
        var h = Rng.Hash(_idTag ^ 0xABCDEF, (ulong)i);
        var l = Rng.Mix(h);
        new Guid((int)h, (short)(h >> 32), (short)(h >> 48), BitConverter.GetBytes(l)).TryFormat(dest, out _, "D");
        for (var k = 0; k < 36; k++) dest[k] = char.ToUpperInvariant(dest[k]);
    }

    public string ItemGuid(int i)
    {
        var h = Rng.Hash(_idTag ^ 0xABCDEF, (ulong)i);
        var l = Rng.Mix(h);
        return new Guid((int)h, (short)(h >> 32), (short)(h >> 48), BitConverter.GetBytes(l)).ToString().ToUpperInvariant();
    }

    /// <summary>A site answers: not deleted, and a personal site only while its OneDrive exists.</summary>
    public bool SiteLive(Site s) => !s.Deleted && !(s.Personal && s.PersonalDrive >= 0 && Drives[s.PersonalDrive].Deleted)
        && (s.ParentSite < 0 || SiteLive(Sites[s.ParentSite]));

    public bool IsAncestorOrSelf(int ancestor, int item)
    {
        for (var c = item; c >= 0; c = ItemParent[c]) if (c == ancestor) return true;
        return false;
    }

    public IEnumerable<Permission> LivePermissions(int item) =>
        PermissionsByItem.TryGetValue(item, out var l) ? l.Where(p => !p.Deleted) : [];

    // ---- SharePoint's permission inheritance (docs/simulator.md "Permission model") ----
    /// <summary>Items (not drive roots) that broke inheritance: roots of their own permission hierarchy.</summary>
    public readonly HashSet<int> UniqueRoots = [];

    /// <summary>A drive root, or an item that broke inheritance.</summary>
    public bool IsPermissionRoot(int i) => ItemParent[i] < 0 || UniqueRoots.Contains(i);

    /// <summary>The nearest ancestor-or-self that is a permission root (whose role assignments the item has).</summary>
    public int PermissionRoot(int i)
    {
        var c = i;
        while (ItemParent[c] >= 0 && !UniqueRoots.Contains(c)) c = ItemParent[c];
        return c;
    }

    /// <summary>The item's effective permissions: its hierarchy root's own, live ones.</summary>
    public IEnumerable<Permission> EffectivePermissions(int i) => LivePermissions(PermissionRoot(i));

    /// <summary>Breaks inheritance on a non-root item: copies the parent hierarchy's permissions (same ids). Returns false if already a root.</summary>
    public bool BreakInheritance(int i)
    {
        if (IsPermissionRoot(i)) return false;
        var seq = ++Seq;
        var copies = EffectivePermissions(ItemParent[i]).Select(p => p.CopyFor(i, seq)).ToList();
        if (!PermissionsByItem.TryGetValue(i, out var list)) PermissionsByItem[i] = list = [];
        list.AddRange(copies);
        UniqueRoots.Add(i);
        return true;
    }

    /// <summary>Restores inheritance ("delete unique permissions"): the item's own permissions go, it inherits from its parent again.</summary>
    public bool RestoreInheritance(int i)
    {
        if (!UniqueRoots.Remove(i)) return false;
        var seq = ++Seq;
        foreach (var p in LivePermissions(i).ToList()) { p.Deleted = true; p.Seq = seq; }
        return true;
    }

    /// <summary>The `shared` facet scope of a root from its non-base permissions (anonymous &gt; organization &gt; users), null = unique but unshared.</summary>
    public string? SharedScope(int root)
    {
        string? scope = null;
        foreach (var p in LivePermissions(root))
        {
            if (p.Base || p.LinkScope == "existingAccess") continue;
            var s = p.LinkScope == "anonymous" ? "anonymous"
                : p.LinkScope == "organization" || (p.GrantedTo?.IsOrgWide ?? false) ? "organization" : "users";
            if (scope is null || s == "anonymous" || (s == "organization" && scope == "users")) scope = s;
        }
        return scope;
    }

    /// <summary>Site key of a drive for site-scoped principal ids (a OneDrive is its own site collection).</summary>
    public int SiteKey(int drive) => Drives[drive].Site >= 0 ? Drives[drive].Site : 100_000 + drive;

    /// <summary>siteUser ids are small integers scoped to one site collection: the same user has different ids in different sites.</summary>
    public static string SiteUserId(int siteKey, int userIndex) => (11 + (userIndex + siteKey * 37) % 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string TenantId = "";

    public string DirectorySiteUserLogin(User u) =>
        u.Guest ? $"i:0#.f|membership|{u.ExternalEmail.Replace('@', '_')}#ext#@{Domain}" : $"i:0#.f|membership|{u.Upn}";
}
