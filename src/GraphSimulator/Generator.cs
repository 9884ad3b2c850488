namespace Sentinel.GraphSimulator;

internal sealed record ProfileSize(int Users, int Groups, int Sites, int Items);

/// <summary>Builds a deterministic tenant from (profile, seed).</summary>
internal static class Generator
{
    public static ProfileSize Size(SimulatorOptions o)
    {
        var p = o.Profile.ToLowerInvariant() switch
        {
            "small" => new ProfileSize(24, 8, 3, 400),
            "demo" => new ProfileSize(150, 30, 12, 20_000),
            "large" => new ProfileSize(10_000, 2_000, 500, 1_000_000),
            "tiny" => new ProfileSize(8, 3, 1, 40),
            _ => throw new ArgumentException($"unknown profile '{o.Profile}' (small, demo, large, tiny)"),
        };
        return new ProfileSize(o.Users ?? p.Users, o.Groups ?? p.Groups, o.Sites ?? p.Sites, o.Items ?? p.Items);
    }

    private static readonly string[] First = ["Adele", "Alex", "Megan", "Lee", "Nestor", "Patti", "Pradeep", "Lidia", "Grady", "Isaiah", "Johanna", "Joni", "Lynne", "Miriam", "Diego", "Henrietta", "Irvin", "Christie", "Debra", "Emily", "Zoë", "José", "Brian", "Sakura", "Olga", "Chen", "Fatima", "Noah", "Liam", "Maya"];
    private static readonly string[] Last = ["Vance", "Wilber", "Bowen", "Gu", "Wilke", "Fernandez", "Gupta", "Holloway", "Archie", "Langer", "Lauer", "Sherman", "Robbins", "Graham", "Siciliani", "Mueller", "Sink", "Cline", "Berg", "Braun", "O'Neil", "Núñez", "Tanaka", "Ivanova", "Wei", "Khan", "Smith", "Jones", "Brown", "Davis"];
    private static readonly string[] Departments = ["Sales", "Marketing", "Finance", "Legal", "Engineering", "HR", "Operations", "Executive"];
    private static readonly string[] Titles = ["Analyst", "Manager", "Director", "Engineer", "Consultant", "Specialist", "Coordinator", "VP"];
    private static readonly string[] ExternalDomains = ["fabrikam.com", "northwind.example", "gmail.com", "adatum.org", "tailspin.net"];
    private static readonly string[] SiteNames = ["Marketing", "Finance", "Legal", "Engineering", "HR", "Sales", "Operations", "Project Falcon", "Board", "Mergers", "IT", "Communications", "Research", "Partners", "Support", "Procurement"];
    private static readonly string[] GroupWords = ["Team", "Leads", "Project", "Committee", "Guild", "Squad", "Council", "Working Group"];

    public static readonly (string Upn, string Name, string? Role)[] DemoUsers =
    [
        ("admin", "Avery Admin", "Sentinel.Admin"),
        ("operator", "Oscar Operator", "Sentinel.Operator"),
        ("reader", "Riley Reader", "Sentinel.Reader"),
        ("norole", "Noel Norole", null),
    ];

    public static Tenant Build(SimulatorOptions o)
    {
        var size = Size(o);
        var t = new Tenant(o.Seed, o.TenantDomain) { TenantId = o.TenantId };
        var rng = new Rng(Rng.Hash((ulong)o.Seed, 0x5EED));

        // ---- users ----
        for (var i = 0; i < size.Users; i++)
        {
            var u = new User { Index = i, Id = rng.NextGuid() };
            if (i < DemoUsers.Length)
            {
                var d = DemoUsers[i];
                u.DisplayName = d.Name; u.GivenName = d.Name.Split(' ')[0]; u.Surname = d.Name.Split(' ')[1];
                u.Upn = $"{d.Upn}@{t.Domain}"; u.Mail = u.Upn; u.AppRole = d.Role; u.Department = "IT"; u.JobTitle = "Administrator";
            }
            else
            {
                var f = rng.Pick(First); var l = rng.Pick(Last);
                u.GivenName = f; u.Surname = l; u.DisplayName = $"{f} {l}";
                var local = $"{Ascii(f)}.{Ascii(l)}{i}".ToLowerInvariant();
                if (rng.Chance(0.08))
                {
                    u.Guest = true;
                    var dom = rng.Pick(ExternalDomains);
                    u.Mail = $"{local}@{dom}";
                    u.Upn = $"{local}_{dom}#EXT#@{t.Domain}";
                    u.DisplayName += $" ({dom})";
                    u.PendingAcceptance = rng.Chance(0.3);
                }
                else
                {
                    u.Upn = $"{local}@{t.Domain}";
                    u.Mail = rng.Chance(0.05) ? null : u.Upn;
                    u.Department = rng.Pick(Departments); u.JobTitle = rng.Pick(Titles);
                    u.OfficeLocation = rng.Chance(0.5) ? $"{rng.Next(1, 40)}/{rng.Next(1000, 3000)}" : null;
                    if (rng.Chance(0.04)) u.Enabled = false;
                    if (rng.Chance(0.015)) u.Deleted = true; // soft-deleted: "@removed" even in a first sync
                }
            }
            u.Seq = ++t.Seq;
            t.Users.Add(u);
            t.UserById[u.Id] = i;
        }

        // ---- sites and their libraries ----
        for (var s = 0; s < size.Sites; s++)
        {
            var site = new Site { Index = s, CollectionId = rng.NextGuid(), WebId = rng.NextGuid(), Root = s == 0 };
            var baseName = s == 0 ? "Contoso" : SiteNames[(s - 1) % SiteNames.Length] + (s > SiteNames.Length ? $" {s}" : "");
            site.Name = baseName;
            site.Description = s == 0 ? "Intranet home" : $"{baseName} team site";
            site.WebUrl = s == 0 ? $"https://{t.SpHost}" : $"https://{t.SpHost}/sites/{baseName.Replace(" ", "")}";
            site.Id = $"{t.SpHost},{site.CollectionId},{site.WebId}";
            site.Seq = ++t.Seq;
            t.Sites.Add(site);
            t.SiteById[site.Id] = s;
            AddDrive(t, rng, s, -1, "Documents", "documentLibrary", site.WebUrl + "/Shared%20Documents");
            if (s % 3 == 1) AddDrive(t, rng, s, -1, "Archive", "documentLibrary", site.WebUrl + "/Archive");
        }

        // ---- OneDrives for licensed members (guests, unlicensed and deleted users have none) ----
        foreach (var u in t.Users)
        {
            if (u.Guest || u.Deleted) continue;
            if (u.Index >= DemoUsers.Length && rng.Chance(0.12)) continue; // unlicensed / never provisioned
            var local = u.Upn.Replace('@', '_').Replace('.', '_');
            var d = AddDrive(t, rng, -1, u.Index, "OneDrive", "business", $"https://{t.MyHost}/personal/{local}/Documents");
            u.Drive = d;
        }

        // ---- groups, nested membership ----
        var members = t.Users.Where(u => !u.Guest && !u.Deleted).Select(u => u.Index).ToList();
        var guests = t.Users.Where(u => u.Guest && !u.Deleted).Select(u => u.Index).ToList();
        for (var g = 0; g < size.Groups; g++)
        {
            var grp = new Group { Index = g, Id = rng.NextGuid() };
            var kind = g == 0 ? 0 : rng.Next(3); // 0 = Microsoft 365 group, 1 = security, 2 = mail-enabled security
            var name = g == 0 ? "All Company" : g <= SiteNames.Length && g < size.Sites ? SiteNames[g - 1] : $"{rng.Pick(Departments)} {rng.Pick(GroupWords)} {g}";
            grp.DisplayName = name;
            grp.Description = $"{name} group";
            grp.MailNickname = Ascii(name).Replace(" ", "").ToLowerInvariant();
            grp.Unified = kind == 0;
            grp.MailEnabled = kind != 1;
            grp.SecurityEnabled = kind != 0;
            grp.Mail = grp.MailEnabled ? $"{grp.MailNickname}@{t.Domain}" : null;
            if (g > 0 && g < size.Sites) grp.Site = g;
            grp.Seq = ++t.Seq;
            t.Groups.Add(grp);
            t.GroupById[grp.Id] = g;
        }
        for (var g = 0; g < t.Groups.Count; g++)
        {
            if (g == 0)
            {
                foreach (var m in members) AddMembership(t, g, m, false);
                continue;
            }
            if (g % 11 == 7) continue; // some groups without members (no members@delta)
            var n = Math.Min(members.Count, rng.Next(2, g % 5 == 0 ? 60 : 14));
            var picked = new HashSet<int>();
            for (var k = 0; k < n; k++) picked.Add(rng.Pick(members));
            if (guests.Count > 0 && rng.Chance(0.3)) picked.Add(rng.Pick(guests));
            foreach (var m in picked.Order()) AddMembership(t, g, m, false);
            // nested: a group may contain a later group (acyclic)
            if (g + 1 < t.Groups.Count && (g % 4 == 1 || rng.Chance(0.2))) AddMembership(t, g, rng.Next(g + 1, t.Groups.Count), true);
        }

        // ---- drive items ----
        var weights = t.Drives.Select(d => d.DriveType == "documentLibrary" ? 6.0 : 1.0).ToArray();
        var total = weights.Sum();
        var remaining = size.Items - t.Drives.Count; // roots count as items
        var budgets = weights.Select(w => Math.Max(0, (int)(remaining * w / total))).ToArray();
        if (budgets.Length > 0) budgets[0] += remaining - budgets.Sum();
        for (var d = 0; d < t.Drives.Count; d++) FillDrive(t, rng, d, budgets[d]);

        // ---- permission hierarchies: the site groups / OneDrive owner on every drive root (inherited by everything below),
        //      a few folders shared (their subtree inherits the link), a few percent of files shared, some items with
        //      unique but unshared permissions. Index order = parents first, so a copy sees its parent's final state.
        for (var d = 0; d < t.Drives.Count; d++) AddBasePermissions(t, d);
        var shareRate = t.ItemCount < 5_000 ? 0.15 : 0.04;
        var folderShareRate = t.ItemCount < 5_000 ? 0.10 : 0.03;
        for (var i = 0; i < t.ItemCount; i++)
        {
            if (t.IsDeleted(i) || t.ItemParent[i] < 0) continue;
            if (rng.Chance(t.IsFolder(i) ? folderShareRate : shareRate))
            {
                t.BreakInheritance(i);
                var n = t.IsFolder(i) ? rng.Next(1, 3) : rng.Next(1, 4);
                for (var k = 0; k < n; k++) AddRandomPermission(t, rng, i);
            }
            else if (rng.Chance(0.01)) t.BreakInheritance(i); // unique but unshared
        }
        return t;
    }

    private static string Ascii(string s) =>
        new(s.Normalize(System.Text.NormalizationForm.FormD).Where(c => c < 128 && (char.IsLetterOrDigit(c) || c == ' ')).ToArray());

    internal static int AddDrive(Tenant t, Rng rng, int site, int owner, string name, string type, string webUrl)
    {
        var d = new Drive { Index = t.Drives.Count, Site = site, Owner = owner, Name = name, DriveType = type, WebUrl = webUrl };
        var bytes = new byte[48];
        for (var k = 0; k < 6; k++) BitConverter.TryWriteBytes(bytes.AsSpan(k * 8), rng.NextU64());
        d.Id = "b!" + Jwt.B64(bytes);
        d.Seq = ++t.Seq;
        t.Drives.Add(d);
        t.DriveById[d.Id] = d.Index;
        if (site >= 0) t.Sites[site].Drives.Add(d.Index);
        d.Root = t.AddItem(d.Index, -1, true, null);
        return d.Index;
    }

    private static void FillDrive(Tenant t, Rng rng, int d, int count)
    {
        var folders = new List<(int Item, int Depth)> { (t.Drives[d].Root, 0) };
        for (var k = 0; k < count; k++)
        {
            var (parent, depth) = folders.Count > 1 && rng.Chance(0.7) ? folders[rng.Next(1, folders.Count)] : folders[0];
            var folder = depth < 5 && rng.Chance(0.12);
            var i = t.AddItem(d, parent, folder, null);
            if (folder) folders.Add((i, depth + 1));
            else if (rng.Chance(0.005)) { t.ItemFlags[i] |= Tenant.DeletedFlag; t.ChildCount[parent]--; } // deleted before the first sync
        }
    }

    private static readonly string[] LinkTypes = ["view", "edit", "view", "review", "blocksDownload", "embed"];

    public static Permission AddRandomPermission(Tenant t, Rng rng, int item)
    {
        var p = new Permission { Item = item, Seq = ++t.Seq };
        var liveUsers = t.Users;
        User PickUser(bool guest)
        {
            for (var tries = 0; tries < 50; tries++)
            {
                var u = rng.Pick(liveUsers);
                if (!u.Deleted && u.Guest == guest) return u;
            }
            return liveUsers[0];
        }
        var kind = rng.Next(100);
        var siteKey = t.SiteKey(t.ItemDrive[item]);
        if (kind < 25)
        {
            var u = PickUser(false);
            p.Roles = [rng.Chance(0.6) ? "read" : "write"];
            p.GrantedTo = UserGrant(t, u, siteKey);
            p.Id = PermIdForLogin(t.DirectorySiteUserLogin(u));
        }
        else if (kind < 35)
        {
            var g = rng.Pick(t.Groups);
            p.Roles = [rng.Chance(0.5) ? "read" : "write"];
            p.GrantedTo = new Grant { Type = "group", Id = g.Id.ToString(), DisplayName = g.DisplayName, Email = g.Mail, LoginName = $"c:0o.c|federateddirectoryclaimprovider|{g.Id}", SiteUserId = Tenant.SiteUserId(siteKey, 500_000 + g.Index) };
            p.Id = PermIdForLogin(p.GrantedTo.LoginName!);
        }
        else if (kind < 45)
        {
            // guest known only as a SharePoint site user
            var u = PickUser(true);
            var login = t.DirectorySiteUserLogin(u);
            p.Roles = ["read"];
            p.GrantedTo = new Grant { Type = "siteUser", Id = Tenant.SiteUserId(siteKey, u.Index), DisplayName = u.DisplayName, Email = u.ExternalEmail, LoginName = login };
            p.Id = PermIdForLogin(login);
        }
        else if (kind < 50)
        {
            var u = PickUser(true);
            p.Roles = ["write"];
            p.GrantedTo = UserGrant(t, u, siteKey);
            p.Id = PermIdForLogin(t.DirectorySiteUserLogin(u));
        }
        else if (kind < 55)
        {
            p.Roles = ["read"];
            p.InvitationEmail = $"partner{rng.Next(1000)}@{rng.Pick(ExternalDomains)}";
            p.Id = PermIdForLogin("invite|" + p.InvitationEmail + "|" + item);
        }
        else if (kind < 57)
        {
            // organisation-wide claims granted as a siteUser: "Everyone except external users" / "Everyone"
            p.Roles = ["read"];
            var everyone = rng.Chance(0.3);
            var login = everyone ? "c:0(.s|true" : $"c:0-.f|rolemanager|spo-grid-all-users/{t.TenantId}";
            p.GrantedTo = new Grant { Type = "siteUser", Id = everyone ? "7" : "6", DisplayName = everyone ? "Everyone" : "Everyone except external users", LoginName = login };
            p.Id = PermIdForLogin(login);
        }
        else if (kind < 60)
        {
            p.Roles = ["read"];
            var site = t.Drives[t.ItemDrive[item]].Site;
            var sname = site >= 0 ? t.Sites[site].Name : "Personal";
            var which = rng.Pick(new[] { ("Members", "5"), ("Visitors", "4"), ("Owners", "3") });
            p.GrantedTo = new Grant { Type = "siteGroup", Id = which.Item2, DisplayName = $"{sname} {which.Item1}", LoginName = $"{sname} {which.Item1}" };
            p.Id = which.Item2;
        }
        else if (kind < 62)
        {
            p.Roles = ["write"];
            p.GrantedTo = new Grant { Type = "application", Id = rng.NextGuid().ToString(), DisplayName = "Contoso Workflow App" };
            p.Id = PermIdForLogin("app|" + p.GrantedTo.Id);
        }
        else if (kind < 67)
        {
            p.Id = "00000000-0000-0000-0000-000000000000";
            p.Roles = ["read"];
            p.LinkType = "view";
            p.LinkScope = "existingAccess";
        }
        else
        {
            p.Id = rng.NextGuid().ToString();
            p.LinkType = rng.Pick(LinkTypes);
            p.Roles = [p.LinkType == "edit" ? "write" : "read"];
            var scopeRoll = rng.Next(100);
            p.LinkScope = scopeRoll < 35 ? "anonymous" : scopeRoll < 70 ? "organization" : "users";
            p.PreventsDownload = p.LinkType == "blocksDownload";
            p.ShareId = rng.Chance(0.9) ? "s!" + Jwt.B64(BitConverter.GetBytes(rng.NextU64())) : null;
            var expRoll = rng.Next(100);
            p.Expiration = expRoll < 40 ? null : expRoll < 60 ? "0001-01-01T00:00:00Z"
                : expRoll < 80 ? Tenant.EpochTime.AddDays(-rng.Next(1, 400)).ToString("yyyy-MM-ddTHH:mm:ssZ") // expired
                : Tenant.EpochTime.AddDays(rng.Next(30, 2000)).ToString("yyyy-MM-ddTHH:mm:ssZ");
            p.HasPassword = p.LinkScope == "anonymous" && rng.Chance(0.1);
            if (p.LinkScope == "users")
            {
                var n = rng.Next(1, 4);
                var seen = new HashSet<string>();
                for (var k = 0; k < n; k++)
                {
                    var guest = rng.Chance(0.3);
                    var u = PickUser(guest);
                    var grant = UserGrant(t, u, siteKey);
                    if (seen.Add(grant.Type + grant.Id)) p.Identities.Add(grant);
                }
                if (rng.Chance(0.4)) p.Identities.Add(p.Identities[0]); // Graph repeats identities; truth deduplicates
            }
        }
        if (!t.PermissionsByItem.TryGetValue(item, out var list)) t.PermissionsByItem[item] = list = [];
        // a direct grant to the same principal replaces the earlier one (SharePoint keeps one per principal)
        var clash = list.FirstOrDefault(x => !x.Deleted && x.Id == p.Id);
        if (clash is not null) { clash.Deleted = true; clash.Seq = p.Seq; }
        list.Add(p);
        return p;
    }

    public static Grant UserGrant(Tenant t, User u, int siteKey) => new()
    {
        Type = "user", Id = u.Id.ToString(), DisplayName = u.DisplayName, Email = u.Guest ? u.ExternalEmail : u.Mail ?? u.Upn,
        LoginName = t.DirectorySiteUserLogin(u), SiteUserId = Tenant.SiteUserId(siteKey, u.Index),
    };

    /// <summary>
    /// What every item of a drive inherits unless it breaks inheritance: a library's site groups (Owners 3 / Visitors 4 /
    /// Members 5, ids scoped to the site) and, on the root site's library, "Everyone except external users" (an
    /// organisation-wide claim, which counts as exposure); a OneDrive's owner.
    /// </summary>
    public static void AddBasePermissions(Tenant t, int drive)
    {
        var d = t.Drives[drive];
        var root = d.Root;
        if (!t.PermissionsByItem.TryGetValue(root, out var list)) t.PermissionsByItem[root] = list = [];
        var seq = ++t.Seq;
        if (d.Site >= 0)
        {
            var site = t.Sites[d.Site];
            foreach (var (role, id, name) in new[] { ("owner", "3", "Owners"), ("read", "4", "Visitors"), ("write", "5", "Members") })
                list.Add(new Permission
                {
                    Id = id, Item = root, Roles = [role], Base = true, Seq = seq,
                    GrantedTo = new Grant { Type = "siteGroup", Id = id, DisplayName = $"{site.Name} {name}", LoginName = $"{site.Name} {name}" },
                });
            if (site.Root)
            {
                var login = $"c:0-.f|rolemanager|spo-grid-all-users/{t.TenantId}";
                list.Add(new Permission
                {
                    Id = PermIdForLogin(login), Item = root, Roles = ["read"], Seq = seq,
                    GrantedTo = new Grant { Type = "siteUser", Id = "6", DisplayName = "Everyone except external users", LoginName = login },
                });
            }
        }
        else if (d.Owner >= 0)
        {
            var owner = t.Users[d.Owner];
            list.Add(new Permission
            {
                Id = PermIdForLogin(t.DirectorySiteUserLogin(owner)), Item = root, Roles = ["owner"], Base = true, Seq = seq,
                GrantedTo = UserGrant(t, owner, t.SiteKey(drive)),
            });
        }
    }

    public static string PermIdForLogin(string login) => Jwt.B64(System.Text.Encoding.UTF8.GetBytes(login.Length > 60 ? login[..60] : login));

    public static void AddMembership(Tenant t, int g, int member, bool isGroup)
    {
        var key = (g, isGroup ? -1 - member : member);
        if (t.MembershipByPair.TryGetValue(key, out var existing))
        {
            var m = t.Memberships[existing];
            if (!m.Deleted) return;
            m.Deleted = false;
            m.Seq = ++t.Seq;
            t.Groups[g].Seq = m.Seq;
            return;
        }
        var ms = new Membership { Group = g, Member = member, MemberIsGroup = isGroup, Seq = ++t.Seq };
        t.MembershipByPair[key] = t.Memberships.Count;
        t.Groups[g].Memberships.Add(t.Memberships.Count);
        t.Memberships.Add(ms);
        t.Groups[g].Seq = ms.Seq;
    }
}
