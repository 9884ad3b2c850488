using Sentinel.Features.Infrastructure;
using Sentinel.Features.Inventory;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Inventory;

/// <summary>
/// Item search matches name or path through one trigram index over item_search_text(path, name) (db/init 017, issue 11:
/// one GIN index to build after a first load and to write on every item change instead of two). The expression must
/// select exactly the rows "name ILIKE s OR path ILIKE s" selects, and the index must serve the lists' query.
/// </summary>
[Collection(IngestedTenantCollection.Name)]
public sealed class ItemSearchTests(IngestedTenantFixture fixture)
{
    [Fact]
    public async Task The_search_text_selects_exactly_the_rows_name_or_path_select_for_every_name_fragment_of_the_tenant()
    {
        // Fragments of real names (start, middle, end, a whole name), a path separator, the drive root's name and a miss.
        var names = await fixture.QueryAsync<string>("""
            SELECT DISTINCT name FROM msgraph_drive_items WHERE name IS NOT NULL AND length(name) >= 6 ORDER BY name LIMIT 40
            """);
        Assert.NotEmpty(names);
        var terms = names.SelectMany(n => new[] { n[..3], n.Substring(2, 3), n[^4..], n }).Append("/").Append("root").Append("no such item zz").Distinct();
        var compared = 0;
        foreach (var term in terms)
        {
            var pattern = "%" + term.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%";
            var differing = await fixture.ScalarAsync<long>("""
                SELECT count(*) FROM msgraph_drive_items i
                WHERE (coalesce(i.name ILIKE @P, false) OR coalesce(i.path ILIKE @P, false)) <> coalesce(item_search_text(i.path, i.name) ILIKE @P, false)
                """, new { P = pattern });
            Assert.True(differing == 0, $"'{term}': {differing} rows differ");
            compared++;
        }
        Assert.True(compared > 40);
        // Rows without a known path (parent not seen) and the drive roots are in the tenant and covered above.
        Assert.True(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE is_root") > 0);
    }

    [Fact]
    public async Task A_folder_name_finds_the_folder_by_name_and_what_is_below_it_by_path()
    {
        var folder = (await fixture.QueryAsync<(string Id, string Name, string Path)>("""
            SELECT i.id, i.name, i.path FROM msgraph_drive_items i
            WHERE i.is_folder AND NOT i.is_root AND i.deleted_at IS NULL AND i.path IS NOT NULL
              AND EXISTS (SELECT 1 FROM msgraph_drive_items c WHERE c.drive_id = i.drive_id AND c.parent_id = i.id AND c.deleted_at IS NULL)
            ORDER BY i.id LIMIT 1
            """)).Single();
        var page = await fixture.SendAsync(new ListItems.Query(Search: folder.Path, Deleted: DeletedFilter.Exclude, Limit: InventoryQuery.MaxPageSize));

        Assert.Contains(page.Rows, r => r.Id == folder.Id);
        Assert.Contains(page.Rows, r => r.Path is not null && r.Path.StartsWith(folder.Path + "/", StringComparison.Ordinal));
        Assert.All(page.Rows, r => Assert.True(
            (r.Name ?? "").Contains(folder.Path, StringComparison.OrdinalIgnoreCase) || (r.Path ?? "").Contains(folder.Path, StringComparison.OrdinalIgnoreCase),
            $"{r.Path} does not match {folder.Path}"));
    }

    [Fact]
    public async Task The_trigram_index_serves_the_search_of_the_item_and_permission_lists()
    {
        await using var c = await fixture.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        // The small tenant fits in a few pages (a sequential scan wins there): only whether the index can serve the query is asked.
        await Dapper.SqlMapper.ExecuteAsync(c, "SET LOCAL enable_seqscan = off", transaction: tx);
        var plan = string.Join("\n", await Dapper.SqlMapper.QueryAsync<string>(c,
            $"EXPLAIN SELECT i.id FROM msgraph_drive_items i WHERE {InventoryQuery.ItemSearchText} ILIKE '%budget%'", transaction: tx));
        Assert.Contains("msgraph_drive_items_search_trgm_idx", plan);
    }

    [Fact]
    public async Task A_search_with_a_control_character_is_refused_naming_the_field()
    {
        var error = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new ListItems.Query(Search: "a\nb")));
        Assert.Equal("search must not contain control characters", Assert.Single(error.Errors["search"]));
        error = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new ListPermissions.Query(Search: "x\ty")));
        Assert.Equal("search must not contain control characters", Assert.Single(error.Errors["search"]));
    }
}
