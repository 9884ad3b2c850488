using System.Text.Json;
using Sentinel.Features.Access;
using Sentinel.Features.Views;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Posture;

/// <summary>
/// Issue 14 §2: access by principal equals an independent computation from the simulator's ground truth, for sampled
/// members, guests and groups, after a round of sharing mutations; a user's reach (mv_principal_reach) is the number of
/// files in that set.
/// </summary>
public sealed class PrincipalAccessTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Access_by_principal_equals_the_ground_truth_for_sampled_members_guests_and_groups()
    {
        await fixture.IngestAsync();
        await fixture.Sim.MutateAsync(6, seed: 21, kinds: ["shareFolder", "addGrant", "addLink", "addMembership"]);
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.IngestAsync();
        await fixture.SendAsync(new RefreshImpactedViews.Command(Force: true));
        using var truthDoc = await fixture.Sim.GetStateAsync();
        var truth = truthDoc.RootElement;

        var users = truth.GetProperty("users").EnumerateArray().Where(u => !u.GetProperty("deleted").GetBoolean()).ToList();
        var members = users.Where(u => u.GetProperty("userType").GetString() == "Member").Take(4).ToList();
        var guests = users.Where(u => u.GetProperty("userType").GetString() == "Guest").Take(3).ToList();
        var groups = truth.GetProperty("groups").EnumerateArray().Where(g => !g.GetProperty("deleted").GetBoolean()).Take(3).ToList();
        Assert.NotEmpty(guests);
        var nonEmpty = 0;
        foreach (var (kind, principal) in members.Select(u => ("user", u)).Concat(guests.Select(u => ("user", u))).Concat(groups.Select(g => ("group", g))))
        {
            var id = principal.GetProperty("id").GetString()!;
            var expected = Reachable(truth, kind, principal);
            var actual = new HashSet<string>();
            long files = 0;
            string? cursor = null;
            do
            {
                var result = await fixture.SendAsync(new GetPrincipalAccess.Query(id, Cursor: cursor, Limit: 1000));
                actual.UnionWith(result.Items.Rows.Select(r => r.ItemId));
                files = result.TotalFiles;
                cursor = result.Items.NextCursor;
            } while (cursor is not null);
            Assert.True(expected.SetEquals(actual), $"{kind} {id}: missing {string.Join(", ", expected.Except(actual).Take(5))} · unexpected {string.Join(", ", actual.Except(expected).Take(5))}");
            var expectedFiles = truth.GetProperty("items").EnumerateArray().Count(i => expected.Contains(i.GetProperty("id").GetString()!) && !i.GetProperty("isFolder").GetBoolean());
            Assert.Equal(expectedFiles, files);
            if (kind == "user")
                Assert.Equal(expectedFiles, await fixture.ScalarAsync<long>("SELECT reach FROM mv_principal_reach WHERE user_id = @id", new { id }));
            if (expected.Count > 0) nonEmpty++;
        }
        Assert.True(nonEmpty >= 3, "most sampled principals reach nothing: the test would prove little");
    }

    /// <summary>Items reachable by the principal, from the truth alone: grants (by id or e-mail), groups (transitively), org-wide for members.</summary>
    private static HashSet<string> Reachable(JsonElement truth, string kind, JsonElement principal)
    {
        var id = principal.GetProperty("id").GetString()!;
        var emails = kind == "user"
            ? new[] { principal.GetProperty("mail"), principal.GetProperty("userPrincipalName") }.Where(e => e.ValueKind == JsonValueKind.String)
                .Select(e => e.GetString()!.ToLowerInvariant()).ToHashSet()
            : [];
        var member = kind == "user" && principal.GetProperty("userType").GetString() == "Member";
        var memberships = truth.GetProperty("memberships").EnumerateArray().Where(m => !m.GetProperty("deleted").GetBoolean())
            .Select(m => (Group: m.GetProperty("groupId").GetString()!, Member: m.GetProperty("memberId").GetString()!)).ToList();
        var myGroups = new HashSet<string>(kind == "group" ? [id] : []);
        for (var frontier = new HashSet<string> { id }; frontier.Count > 0;)
            frontier = memberships.Where(m => frontier.Contains(m.Member)).Select(m => m.Group).Where(myGroups.Add).ToHashSet();

        var roots = new HashSet<string>();
        foreach (var p in truth.GetProperty("permissions").EnumerateArray())
        {
            if (p.GetProperty("deleted").GetBoolean()) continue;
            var grants = p.GetProperty("grants").EnumerateArray().ToList();
            var reached = grants.Any(g =>
            {
                var type = g.GetProperty("principalType").GetString();
                var pid = g.GetProperty("principalId").GetString()!;
                if (type == "group") return myGroups.Contains(pid);
                if (kind == "group") return false;
                var email = g.GetProperty("email").ValueKind == JsonValueKind.String ? g.GetProperty("email").GetString()!.ToLowerInvariant() : null;
                return pid == id || (email is not null && emails.Contains(email));
            });
            var orgWide = p.GetProperty("linkScope").ValueKind == JsonValueKind.String && p.GetProperty("linkScope").GetString() == "organization"
                          || grants.Any(g => g.TryGetProperty("isOrgWide", out var o) && o.GetBoolean());
            var anonymous = p.GetProperty("linkScope").ValueKind == JsonValueKind.String && p.GetProperty("linkScope").GetString() == "anonymous";
            if (reached || (member && orgWide && !anonymous)) roots.Add(p.GetProperty("itemId").GetString()!);
        }
        return truth.GetProperty("items").EnumerateArray()
            .Where(i => !i.GetProperty("deleted").GetBoolean() && roots.Contains(i.GetProperty("permissionRootId").GetString()!))
            .Select(i => i.GetProperty("id").GetString()!).ToHashSet();
    }
}
