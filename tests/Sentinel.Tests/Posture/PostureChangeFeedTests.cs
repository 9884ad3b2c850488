using System.Text.Json;
using Sentinel.Features.Posture;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Posture;

/// <summary>
/// Issue 14 §1 against the tenant simulator: after a mutation round (share files and folders, anyone links, unshare,
/// grant, remove a guest, membership changes, break and restore inheritance) the feed holds exactly the changes between
/// the two ground truths (computed independently in <see cref="ExpectedPosture"/>),
/// every sharing mutation the simulator says it applied is among them, and a no-op run or a forced resync adds nothing.
/// </summary>
public sealed class PostureChangeFeedTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task A_mutation_round_records_exactly_its_changes_and_a_noop_run_or_resync_records_nothing()
    {
        var (first, _) = await fixture.IngestAsync();
        var baseline = (RecordPostureChanges.Result)first.Summary["posture_changes"]!;
        Assert.True(baseline.Baseline);
        Assert.Empty(baseline.Changes);
        Assert.True(baseline.Facts > 0);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM posture_changes"));
        using var truth0 = await fixture.Sim.GetStateAsync();

        // The round: shares (links), grants, unshares, membership changes, then deletions until a guest is gone.
        var records = new List<Sentinel.GraphSimulator.MutationRecord>();
        records.AddRange(await fixture.Sim.MutateAsync(12, seed: 7, kinds: ["addLink"]));
        records.AddRange(await fixture.Sim.MutateAsync(8, seed: 8, kinds: ["addGrant"]));
        records.AddRange(await fixture.Sim.MutateAsync(6, seed: 9, kinds: ["removePermission"]));
        records.AddRange(await fixture.Sim.MutateAsync(6, seed: 10, kinds: ["addMembership", "removeMembership"]));
        records.AddRange(await fixture.Sim.MutateAsync(3, seed: 11, kinds: ["shareFolder"]));
        records.AddRange(await fixture.Sim.MutateAsync(2, seed: 12, kinds: ["shareAnyone"]));
        records.AddRange(await fixture.Sim.MutateAsync(3, seed: 13, kinds: ["breakInheritance"]));
        records.AddRange(await fixture.Sim.MutateAsync(2, seed: 14, kinds: ["restoreInheritance"]));
        records.AddRange(await fixture.Sim.MutateAsync(1, seed: 15, kinds: ["unshareAnyone"]));
        var guests = truth0.RootElement.GetProperty("users").EnumerateArray()
            .Where(u => u.GetProperty("userType").GetString() == "Guest" && !u.GetProperty("deleted").GetBoolean())
            .Select(u => u.GetProperty("id").GetString()!).ToHashSet();
        Assert.NotEmpty(guests);
        string? removedGuest = null;
        for (var seed = 100; seed < 160 && removedGuest is null; seed++)
        {
            var deleted = await fixture.Sim.MutateAsync(1, seed, kinds: ["deleteUser"]);
            records.AddRange(deleted);
            removedGuest = deleted.Select(d => d.Id).FirstOrDefault(guests.Contains);
        }
        Assert.NotNull(removedGuest); // the round must really remove a guest, or the test proves nothing about guests
        using var truth1 = await fixture.Sim.GetStateAsync();

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.IngestAsync();
        var expected = ExpectedPosture.Changes(truth0.RootElement, truth1.RootElement);
        var actual = await fixture.QueryAsync<string>(ExpectedPosture.FeedSql, new { After = 0L });
        Assert.True(expected.SequenceEqual(actual), "feed differs from the ground-truth diff:\n  missing: " + string.Join("\n           ", expected.Except(actual))
            + "\n  unexpected: " + string.Join("\n           ", actual.Except(expected)) + $"\n  ({expected.Count} expected, {actual.Count} recorded)");

        // The simulator's own record: each sharing mutation that is still true at the end shows up as itself.
        var live = truth1.RootElement.GetProperty("permissions").EnumerateArray()
            .Where(p => !p.GetProperty("deleted").GetBoolean()).Select(p => p.GetProperty("itemId").GetString() + "|" + p.GetProperty("id").GetString()).ToHashSet();
        var roots1 = truth1.RootElement.GetProperty("items").EnumerateArray()
            .Where(i => !i.GetProperty("deleted").GetBoolean() && i.GetProperty("hasUniquePermissions").GetBoolean()).Select(i => i.GetProperty("id").GetString()!).ToHashSet();
        var roots0 = truth0.RootElement.GetProperty("items").EnumerateArray()
            .Where(i => !i.GetProperty("deleted").GetBoolean() && i.GetProperty("hasUniquePermissions").GetBoolean()).Select(i => i.GetProperty("id").GetString()!).ToHashSet();
        var live1 = truth1.RootElement.GetProperty("items").EnumerateArray()
            .Where(i => !i.GetProperty("deleted").GetBoolean()).Select(i => i.GetProperty("id").GetString()!).ToHashSet();
        var ids0 = truth0.RootElement.GetProperty("permissions").EnumerateArray()
            .Where(p => !p.GetProperty("deleted").GetBoolean()).Select(p => p.GetProperty("id").GetString()!).ToHashSet();
        foreach (var r in records)
        {
            var key = r.Id + "|" + r.Detail;
            switch (r.Kind)
            {
                case "addLink" or "shareAnyone" when live.Contains(key):
                    Assert.Contains("link_created|" + key, actual);
                    break;
                // A grant's id names its principal (SharePoint: the login name), so a grant the hierarchy already had is not new access.
                case "addGrant" when live.Contains(key) && !ids0.Contains(r.Detail!):
                    Assert.Contains(actual, a => a.StartsWith("grant_added|" + key + "|", StringComparison.Ordinal));
                    break;
                case "removePermission" when !records.Any(x => x.Kind is "addLink" or "addGrant" && x.Id + "|" + x.Detail == key) && roots1.Contains(r.Id):
                    Assert.Contains(actual, a => a == "link_removed|" + key || a.StartsWith("grant_removed|" + key + "|", StringComparison.Ordinal));
                    break;
                case "breakInheritance" when roots1.Contains(r.Id) && !roots0.Contains(r.Id):
                    Assert.Contains("inheritance_broken|" + r.Id, actual);
                    break;
                case "restoreInheritance" when !roots1.Contains(r.Id) && roots0.Contains(r.Id) && live1.Contains(r.Id):
                    Assert.Contains("inheritance_restored|" + r.Id, actual);
                    break;
            }
        }
        Assert.Contains("guest_removed|" + removedGuest, actual);
        Assert.Contains(actual, a => a.StartsWith("link_created|", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("reach_gained|", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("inheritance_broken|", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("inheritance_restored|", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("reach_gained|", StringComparison.Ordinal) && a.EndsWith("|anyone", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("grant_added|", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("link_removed|", StringComparison.Ordinal) || a.StartsWith("grant_removed|", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.StartsWith("member_", StringComparison.Ordinal));
        // Every row carries its run, and item rows their item's name and site/drive.
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM posture_changes WHERE run_id IS NULL OR (item_id IS NOT NULL AND (item_name IS NULL OR drive_id IS NULL))"));

        // Nothing changed: nothing recorded.
        var high = await fixture.ScalarAsync<long>("SELECT max(change_id) FROM posture_changes");
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var (noop, _) = await fixture.IngestAsync();
        Assert.Empty(((RecordPostureChanges.Result)noop.Summary["posture_changes"]!).Changes);

        // Forced resync of every delta partition plus a rescan of every file's permissions: still nothing.
        await fixture.ExecuteAsync("UPDATE msgraph_delta_state SET delta_link = NULL, next_link = NULL, resync = true");
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var (resync, _) = await fixture.IngestAsync("""{"permission_rescan_after_hours": 0}""");
        Assert.True(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE synced_at >= @At", new { At = fixture.Clock.GetUtcNow() }) > 0,
            "the resync did not re-read the drives; the test would prove nothing");
        Assert.Empty(((RecordPostureChanges.Result)resync.Summary["posture_changes"]!).Changes);
        Assert.Equal(high, await fixture.ScalarAsync<long>("SELECT max(change_id) FROM posture_changes"));
    }
}

/// <summary>The feed's retention (posture_feed.retention_days, default 400).</summary>
public sealed class PostureRetentionTests(Sentinel.TestSupport.SliceFixture fx) : IClassFixture<Sentinel.TestSupport.SliceFixture>
{
    [Fact]
    public async Task Changes_older_than_the_retention_are_deleted_when_a_run_is_recorded()
    {
        await fx.SendAsync(new RecordPostureChanges.Command(Guid.NewGuid()));
        await fx.ExecuteAsync("""
            INSERT INTO posture_changes (run_id, recorded_at, kind, risk) VALUES
              (gen_random_uuid(), @Old, 'guest_added', 4), (gen_random_uuid(), @Recent, 'guest_added', 4)
            """, new { Old = fx.Clock.GetUtcNow().AddDays(-401), Recent = fx.Clock.GetUtcNow().AddDays(-399) });
        var result = await fx.SendAsync(new RecordPostureChanges.Command(Guid.NewGuid()));
        Assert.Equal(1, result.Expired);
        Assert.Equal(1, await fx.ScalarAsync<long>("SELECT count(*) FROM posture_changes WHERE recorded_at < @Cut", new { Cut = fx.Clock.GetUtcNow().AddDays(-300) }));
        await fx.ExecuteAsync("DELETE FROM posture_changes WHERE kind = 'guest_added' AND item_id IS NULL AND principal_id IS NULL");
    }
}
