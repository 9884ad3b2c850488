namespace Sentinel.GraphSimulator;

/// <summary>One applied change, as reported by POST /_sim/mutate.</summary>
public sealed record MutationRecord(string Kind, string Id, string? Detail);

/// <summary>
/// Random realistic changes. Deterministic: the random stream comes from (tenant seed, request seed) or, without a
/// request seed, from (tenant seed, running mutation-call counter), so the same call sequence gives the same tenant.
/// </summary>
internal static class Mutations
{
    private static readonly (string Kind, int Weight)[] Kinds =
    [
        ("createFile", 20), ("createFolder", 5), ("renameItem", 10), ("moveItem", 8), ("deleteItem", 8),
        ("addLink", 8), ("addGrant", 8), ("removePermission", 6), ("shareFolder", 4), ("breakInheritance", 2), ("restoreInheritance", 3),
        ("addUser", 3), ("disableUser", 2), ("deleteUser", 2), ("addMembership", 6), ("removeMembership", 5), ("renameGroup", 2),
    ];

    /// <summary>Only applied when asked for by name (kinds filter): adding them to the default mix would change every seed's stream.</summary>
    private static readonly (string Kind, int Weight)[] OptInKinds =
    [
        ("createGroup", 2), ("deleteGroup", 1), ("shareAnyone", 1), ("unshareAnyone", 1),
        // the real-tenant shapes of issue 11 (docs/simulator.md cites where each comes from)
        ("createPersonalSites", 1), ("createSubsite", 1), ("restoreUser", 1), ("moveOutAndDeleteFolder", 1), ("renameFolderAndEditGrandchild", 1),
    ];

    public static IReadOnlyList<string> KindNames => Kinds.Concat(OptInKinds).Select(k => k.Kind).ToArray();

    public static List<MutationRecord> Apply(Simulator sim, int count, int? seed, string[]? kinds, string? target = null)
    {
        var t = sim.Tenant;
        var targetItem = -1;
        if (target is not null && ((targetItem = t.ParseItemId(target)) < 0 || t.IsDeleted(targetItem)))
            throw new ArgumentException($"target '{target}' is not a live drive item");
        var call = Interlocked.Increment(ref sim.MutationCounter);
        var rng = new Rng(Rng.Hash((ulong)t.Seed * 31 + 7, seed is null ? 0x10000UL + (ulong)call : (ulong)(uint)seed.Value));
        var table = kinds is { Length: > 0 } ? Kinds.Concat(OptInKinds).Where(k => kinds.Contains(k.Kind, StringComparer.OrdinalIgnoreCase)).ToArray() : Kinds;
        if (table.Length == 0) throw new ArgumentException($"unknown mutation kinds; known: {string.Join(", ", KindNames)}");
        var total = table.Sum(k => k.Weight);
        var applied = new List<MutationRecord>();
        for (var n = 0; n < count; n++)
        {
            var roll = rng.Next(total);
            var kind = table[0].Kind;
            foreach (var (k, wgt) in table) { if (roll < wgt) { kind = k; break; } roll -= wgt; }
            var rec = ApplyOne(t, rng, kind, targetItem);
            if (rec is not null) applied.Add(rec);
        }
        t.ClearFolderUrls();
        Interlocked.Add(ref sim.Faults.Stats.Mutations, applied.Count);
        return applied;
    }

    private static int RandomLiveItem(Tenant t, Rng rng, bool? folder, bool allowRoot = false)
    {
        for (var tries = 0; tries < 200; tries++)
        {
            var i = rng.Next(t.ItemCount);
            if (t.IsDeleted(i) || t.Drives[t.ItemDrive[i]].Deleted) continue;
            if (t.ItemParent[i] < 0 && !allowRoot) continue;
            if (folder is not null && t.IsFolder(i) != folder.Value) continue;
            return i;
        }
        return -1;
    }

    private static int RandomFolderInDrive(Tenant t, Rng rng, int drive)
    {
        var items = t.Drives[drive].Items;
        for (var tries = 0; tries < 40; tries++)
        {
            var i = items[rng.Next(items.Count)];
            if (t.IsFolder(i) && !t.IsDeleted(i)) return i;
        }
        return t.Drives[drive].Root;
    }

    private static User? RandomUser(Tenant t, Rng rng, Func<User, bool> ok)
    {
        for (var tries = 0; tries < 200; tries++)
        {
            var u = t.Users[rng.Next(t.Users.Count)];
            if (ok(u)) return u;
        }
        return null;
    }

    private static MutationRecord? ApplyOne(Tenant t, Rng rng, string kind, int target = -1)
    {
        int Pick(bool? folder) => target >= 0 ? target : RandomLiveItem(t, rng, folder);
        switch (kind)
        {
            case "createFile" or "createFolder":
            {
                var parent = RandomLiveItem(t, rng, folder: true, allowRoot: true);
                if (parent < 0) return null;
                var folder = kind == "createFolder";
                var ext = new[] { ".docx", ".xlsx", ".pdf", ".pptx", ".txt" }[rng.Next(5)];
                var name = folder ? $"New Folder {t.ItemCount}" : $"Upload {t.ItemCount}{ext}";
                var i = t.AddItem(t.ItemDrive[parent], parent, folder, name);
                return new(kind, t.ItemId(i), t.ItemPath(i));
            }
            case "renameItem":
            {
                var i = RandomLiveItem(t, rng, folder: null);
                if (i < 0) return null;
                var old = t.ItemName(i);
                var ext = t.IsFolder(i) ? "" : Path.GetExtension(old);
                t.NameOverrides[i] = $"Renamed {rng.Next(1_000_000)}{ext}";
                t.ItemSeq[i] = ++t.Seq;
                return new(kind, t.ItemId(i), $"{old} -> {t.ItemName(i)}");
            }
            case "moveItem":
            {
                var i = RandomLiveItem(t, rng, folder: null);
                if (i < 0) return null;
                var to = RandomFolderInDrive(t, rng, t.ItemDrive[i]);
                if (to == t.ItemParent[i] || t.IsAncestorOrSelf(i, to)) return null;
                t.ChildCount[t.ItemParent[i]]--;
                t.ItemParent[i] = to;
                t.ChildCount[to]++;
                t.ItemSeq[i] = ++t.Seq;
                return new(kind, t.ItemId(i), t.ItemPath(i));
            }
            case "deleteItem":
            {
                var i = RandomLiveItem(t, rng, folder: rng.Chance(0.15) ? true : null);
                if (i < 0) return null;
                var path = t.ItemPath(i);
                DeleteSubtree(t, i);
                return new(kind, t.ItemId(i), path);
            }
            case "addLink" or "addGrant" or "shareFolder":
            {
                var i = Pick(folder: kind == "shareFolder" ? true : target >= 0 ? null : false);
                if (i < 0 || t.ItemParent[i] < 0) return null;
                // Sharing an item breaks its inheritance: it gets a copy of its parent's permissions plus the new one.
                t.BreakInheritance(i);
                if (kind == "shareFolder") kind = rng.Chance(0.7) ? "addLink" : "addGrant";
                Permission p;
                var tries = 0;
                do { p = Generator.AddRandomPermission(t, rng, i); }
                while ((kind == "addLink") != (p.LinkScope is not null) && ++tries < 10 && Undo(t, p));
                t.PermSeq[i] = t.ItemSeq[i] = ++t.Seq;
                t.PermRemovalOnly[i] = false;
                return new(kind, t.ItemId(i), p.Id);
            }
            case "removePermission":
            {
                // a sharing link or grant removed from a hierarchy root (files and folders; the base site groups stay)
                var withPerms = t.PermissionsByItem.Where(kv => (target < 0 || kv.Key == target) && !t.IsDeleted(kv.Key) && !t.Drives[t.ItemDrive[kv.Key]].Deleted && t.IsPermissionRoot(kv.Key)
                        && kv.Value.Any(p => !p.Deleted && !p.Base))
                    .Select(kv => kv.Key).Order().ToList();
                if (withPerms.Count == 0) return null;
                var i = withPerms[rng.Next(withPerms.Count)];
                var live = t.PermissionsByItem[i].Where(p => !p.Deleted && !p.Base).ToList();
                var p = live[rng.Next(live.Count)];
                p.Deleted = true;
                p.Seq = t.PermSeq[i] = t.ItemSeq[i] = ++t.Seq;
                t.PermRemovalOnly[i] = true;
                return new(kind, t.ItemId(i), p.Id);
            }
            case "breakInheritance":
            {
                var i = Pick(folder: rng.Chance(0.5));
                if (i < 0 || !t.BreakInheritance(i)) return null;
                t.PermSeq[i] = t.ItemSeq[i] = t.Seq;
                t.PermRemovalOnly[i] = false;
                return new(kind, t.ItemId(i), t.ItemPath(i));
            }
            case "restoreInheritance":
            {
                var roots = t.UniqueRoots.Where(r => (target < 0 || r == target) && !t.IsDeleted(r) && !t.Drives[t.ItemDrive[r]].Deleted).Order().ToList();
                if (roots.Count == 0) return null;
                var i = roots[rng.Next(roots.Count)];
                t.RestoreInheritance(i);
                t.PermSeq[i] = t.ItemSeq[i] = t.Seq;
                t.PermRemovalOnly[i] = true;
                return new(kind, t.ItemId(i), t.ItemPath(i));
            }
            case "shareAnyone":
            {
                // an anyone (anonymous) view link on an item (a folder's link is inherited by everything below it)
                var i = Pick(folder: true);
                if (i < 0 || t.ItemParent[i] < 0) return null;
                t.BreakInheritance(i);
                var p = new Permission
                {
                    Id = rng.NextGuid().ToString(), Item = i, Roles = ["read"], LinkType = "view", LinkScope = "anonymous", Seq = ++t.Seq,
                    ShareId = "s!" + Jwt.B64(BitConverter.GetBytes(rng.NextU64())), Expiration = null,
                };
                t.PermissionsByItem[i].Add(p);
                t.PermSeq[i] = t.ItemSeq[i] = t.Seq;
                t.PermRemovalOnly[i] = false;
                return new(kind, t.ItemId(i), p.Id);
            }
            case "unshareAnyone":
            {
                var i = Pick(folder: true);
                if (i < 0 || !t.IsPermissionRoot(i)) return null;
                var links = t.LivePermissions(i).Where(p => p.LinkScope == "anonymous").ToList();
                if (links.Count == 0) return null;
                var seq = ++t.Seq;
                foreach (var p in links) { p.Deleted = true; p.Seq = seq; }
                t.PermSeq[i] = t.ItemSeq[i] = seq;
                t.PermRemovalOnly[i] = true;
                return new(kind, t.ItemId(i), string.Join(",", links.Select(p => p.Id)));
            }
            case "addUser":
            {
                var idx = t.Users.Count;
                var u = new User { Index = idx, Id = rng.NextGuid(), GivenName = "New", Surname = $"Hire{idx}", DisplayName = $"New Hire{idx}", Department = "Sales", JobTitle = "Analyst" };
                u.Upn = $"new.hire{idx}@{t.Domain}";
                u.Mail = u.Upn;
                u.Seq = ++t.Seq;
                t.Users.Add(u);
                t.UserById[u.Id] = idx;
                if (rng.Chance(0.5))
                {
                    var d = new Drive { Index = t.Drives.Count, Owner = idx, Name = "OneDrive", DriveType = "business", WebUrl = $"https://{t.MyHost}/personal/new_hire{idx}_{t.Domain.Replace('.', '_')}/Documents" };
                    var bytes = new byte[48];
                    for (var k = 0; k < 6; k++) BitConverter.TryWriteBytes(bytes.AsSpan(k * 8), rng.NextU64());
                    d.Id = "b!" + Jwt.B64(bytes);
                    d.Seq = ++t.Seq;
                    t.Drives.Add(d);
                    t.DriveById[d.Id] = d.Index;
                    d.Root = t.AddItem(d.Index, -1, true, null);
                    u.Drive = d.Index;
                    Generator.AddBasePermissions(t, d.Index);
                }
                if (t.Groups.Count > 0 && !t.Groups[0].Deleted) Generator.AddMembership(t, 0, idx, false);
                return new(kind, u.Id.ToString(), u.Upn);
            }
            case "disableUser":
            {
                var u = RandomUser(t, rng, x => !x.Deleted && x.Enabled && x.Index >= Generator.DemoUsers.Length);
                if (u is null) return null;
                u.Enabled = false;
                u.Seq = ++t.Seq;
                return new(kind, u.Id.ToString(), u.Upn);
            }
            case "deleteUser":
            {
                var u = RandomUser(t, rng, x => !x.Deleted && x.Index >= Generator.DemoUsers.Length);
                if (u is null) return null;
                u.Deleted = true;
                u.HardDeleted = rng.Chance(0.3);
                u.Seq = ++t.Seq;
                if (u.Drive >= 0) { t.Drives[u.Drive].Deleted = true; t.Drives[u.Drive].Seq = t.Seq; } // the OneDrive is no longer reachable
                foreach (var m in t.Memberships)
                {
                    if (m.MemberIsGroup || m.Member != u.Index || m.Deleted) continue;
                    m.Deleted = true;
                    m.Seq = t.Groups[m.Group].Seq = ++t.Seq;
                }
                return new(kind, u.Id.ToString(), u.Upn);
            }
            case "addMembership":
            {
                if (t.Groups.Count == 0) return null;
                var g = t.Groups[rng.Next(t.Groups.Count)];
                if (g.Deleted) return null;
                var u = RandomUser(t, rng, x => !x.Deleted);
                if (u is null) return null;
                var before = t.Seq;
                Generator.AddMembership(t, g.Index, u.Index, false);
                return t.Seq == before ? null : new(kind, g.Id.ToString(), u.Id.ToString());
            }
            case "removeMembership":
            {
                if (t.Memberships.Count == 0) return null;
                var m = t.Memberships[rng.Next(t.Memberships.Count)];
                if (m.Deleted || t.Groups[m.Group].Deleted) return null;
                m.Deleted = true;
                m.Seq = t.Groups[m.Group].Seq = ++t.Seq;
                return new(kind, t.Groups[m.Group].Id.ToString(), (m.MemberIsGroup ? t.Groups[m.Member].Id : t.Users[m.Member].Id).ToString());
            }
            case "createGroup":
            {
                var g = new Group { Index = t.Groups.Count, Id = rng.NextGuid(), DisplayName = $"New Team {t.Groups.Count}", SecurityEnabled = true };
                g.Description = g.DisplayName + " group";
                g.MailNickname = $"newteam{g.Index}";
                g.Seq = ++t.Seq;
                t.Groups.Add(g);
                t.GroupById[g.Id] = g.Index;
                for (var k = 0; k < 3; k++)
                {
                    var u = RandomUser(t, rng, x => !x.Deleted);
                    if (u is not null) Generator.AddMembership(t, g.Index, u.Index, false);
                }
                return new(kind, g.Id.ToString(), g.DisplayName);
            }
            case "deleteGroup":
            {
                if (t.Groups.Count < 2) return null;
                var g = t.Groups[rng.Next(1, t.Groups.Count)]; // never "All Company"
                if (g.Deleted) return null;
                g.Deleted = true;
                g.Seq = ++t.Seq;
                foreach (var m in t.Memberships)
                {
                    if (m.Deleted) continue;
                    if (m.Group == g.Index) { m.Deleted = true; m.Seq = t.Seq; }
                    else if (m.MemberIsGroup && m.Member == g.Index) { m.Deleted = true; m.Seq = t.Groups[m.Group].Seq = ++t.Seq; }
                }
                return new(kind, g.Id.ToString(), g.DisplayName);
            }
            case "createPersonalSites":
            {
                // getAllSites lists every OneDrive's personal site too; its one library is the owner's OneDrive.
                var made = 0;
                foreach (var d in t.Drives.ToList())
                {
                    if (d.Owner < 0 || t.Sites.Any(s => s.PersonalDrive == d.Index)) continue;
                    var owner = t.Users[d.Owner];
                    var site = new Site
                    {
                        Index = t.Sites.Count, CollectionId = rng.NextGuid(), WebId = rng.NextGuid(), Personal = true, PersonalDrive = d.Index,
                        Name = owner.DisplayName, Description = "", WebUrl = d.WebUrl.EndsWith("/Documents", StringComparison.Ordinal) ? d.WebUrl[..^"/Documents".Length] : d.WebUrl,
                    };
                    site.Id = $"{t.MyHost},{site.CollectionId},{site.WebId}";
                    site.Seq = ++t.Seq;
                    site.Drives.Add(d.Index);
                    t.Sites.Add(site);
                    t.SiteById[site.Id] = site.Index;
                    made++;
                }
                return made == 0 ? null : new(kind, t.MyHost, $"{made} personal sites");
            }
            case "createSubsite":
            {
                var parents = t.Sites.Where(s => !s.Personal && t.SiteLive(s)).ToList();
                if (parents.Count == 0) return null;
                var parent = parents[rng.Next(parents.Count)];
                var n = t.Sites.Count;
                var site = new Site
                {
                    Index = n, CollectionId = parent.CollectionId, WebId = rng.NextGuid(), ParentSite = parent.Index,
                    Name = $"Project {n}", Description = $"Project {n} subsite", WebUrl = $"{parent.WebUrl}/project{n}",
                };
                site.Id = $"{t.SpHost},{site.CollectionId},{site.WebId}";
                site.Seq = ++t.Seq;
                t.Sites.Add(site);
                t.SiteById[site.Id] = n;
                var drive = Generator.AddDrive(t, rng, n, -1, "Documents", "documentLibrary", site.WebUrl + "/Shared%20Documents");
                var folder = t.AddItem(drive, t.Drives[drive].Root, true, "Plans");
                t.AddItem(drive, folder, false, "Plan.docx");
                t.AddItem(drive, t.Drives[drive].Root, false, "Budget.xlsx");
                return new(kind, site.Id, site.WebUrl);
            }
            case "restoreUser":
            {
                // A soft-deleted user restored from the recycle bin (within 30 days) gets its OneDrive back, content unchanged.
                var u = RandomUser(t, rng, x => x.Deleted && !x.HardDeleted);
                if (u is null) return null;
                u.Deleted = false;
                u.Seq = ++t.Seq;
                if (u.Drive >= 0) { t.Drives[u.Drive].Deleted = false; t.Drives[u.Drive].Seq = t.Seq; }
                return new(kind, u.Id.ToString(), u.Upn);
            }
            case "moveOutAndDeleteFolder":
            {
                // A subfolder with content moves out of a folder, then the folder is deleted: one round carries the folder's
                // deletion and the subfolder's move, in whatever order and page.
                var start = rng.Next(Math.Max(1, t.ItemCount));
                for (var k = 0; k < t.ItemCount; k++)
                {
                    var c = (start + k) % t.ItemCount;
                    if (!t.IsFolder(c) || t.IsDeleted(c) || t.ChildCount[c] == 0 || t.Drives[t.ItemDrive[c]].Deleted) continue;
                    var f = t.ItemParent[c];
                    if (f < 0 || t.ItemParent[f] < 0 || t.IsDeleted(f)) continue;
                    var outside = t.ItemParent[f];
                    t.ChildCount[f]--;
                    t.ItemParent[c] = outside;
                    t.ChildCount[outside]++;
                    t.ItemSeq[c] = ++t.Seq;
                    var path = t.ItemPath(f);
                    DeleteSubtree(t, f);
                    return new(kind, t.ItemId(f), $"{t.ItemPath(c)} moved out of {path}, then {path} deleted");
                }
                return null;
            }
            case "renameFolderAndEditGrandchild":
            {
                // A folder is renamed and, in the same round, a file two levels below it changes (its parent does not).
                var start = rng.Next(Math.Max(1, t.ItemCount));
                for (var k = 0; k < t.ItemCount; k++)
                {
                    var g = (start + k) % t.ItemCount;
                    if (t.IsFolder(g) || t.IsDeleted(g) || t.Drives[t.ItemDrive[g]].Deleted) continue;
                    var x = t.ItemParent[g];
                    if (x < 0 || t.ItemParent[x] < 0) continue;
                    var f = t.ItemParent[x];
                    if (t.ItemParent[f] < 0) continue;
                    var old = t.ItemPath(g);
                    t.NameOverrides[f] = $"{t.ItemName(f)} {rng.Next(1000, 9999)}";
                    t.ItemSeq[f] = ++t.Seq;
                    t.ItemSeq[g] = ++t.Seq;
                    return new(kind, t.ItemId(g), $"{old} -> {t.ItemPath(g)}");
                }
                return null;
            }
            case "renameGroup":
            {
                if (t.Groups.Count == 0) return null;
                var g = t.Groups[rng.Next(t.Groups.Count)];
                if (g.Deleted) return null;
                g.DisplayName = $"{g.DisplayName.Split(" (")[0]} ({rng.Next(1000)})";
                g.Seq = ++t.Seq;
                return new(kind, g.Id.ToString(), g.DisplayName);
            }
        }
        return null;
    }

    /// <summary>Removes a just-added permission again (used when the random kind did not match); always true.</summary>
    private static bool Undo(Tenant t, Permission p)
    {
        t.PermissionsByItem[p.Item].Remove(p);
        return true;
    }

    public static void DeleteSubtree(Tenant t, int root)
    {
        var drive = t.Drives[t.ItemDrive[root]];
        var victims = new List<int> { root };
        if (t.IsFolder(root))
            foreach (var i in drive.Items)
                if (i != root && !t.IsDeleted(i) && t.IsAncestorOrSelf(root, i)) victims.Add(i);
        t.ChildCount[t.ItemParent[root]]--;
        foreach (var i in victims)
        {
            t.ItemFlags[i] |= Tenant.DeletedFlag;
            t.ItemSeq[i] = ++t.Seq;
        }
    }
}
