using System.Diagnostics;
using Dapper;
using Npgsql;
using Sentinel.Features.Database;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Database;

public sealed class ApplyMigrationsTests
{
    private static string[] SqlFiles() => Directory.GetFiles(TestDatabase.MigrationsDirectory, "*.sql")
        .Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray()!;

    [Fact]
    public async Task Should_create_everything_on_an_empty_database_and_be_a_no_op_the_second_time()
    {
        var db = await TestDatabase.CreateEmptyAsync();
        try
        {
            var first = await TestDatabase.MigrateAsync(db);
            Assert.Equal(SqlFiles(), first.Applied);
            Assert.Empty(first.AlreadyApplied);

            var second = await TestDatabase.MigrateAsync(db);
            Assert.Empty(second.Applied);
            Assert.Equal(SqlFiles(), second.AlreadyApplied);

            await using var c = new NpgsqlConnection(TestDatabase.ConnectionStringFor(db));
            var tables = (await c.QueryAsync<string>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).ToHashSet();
            foreach (var t in new[] { "jobs", "job_schedules", "job_runs", "audit_events", "table_update_log", "mv_dependencies", "mv_refresh_log",
                         "msgraph_users", "msgraph_groups", "msgraph_group_members", "msgraph_sites", "msgraph_drives", "msgraph_drive_items",
                         "msgraph_drive_item_permissions", "msgraph_drive_item_permission_grants", "msgraph_delta_state", "schema_migrations" })
                Assert.Contains(t, tables);
        }
        finally
        {
            await TestDatabase.DropAsync(db);
        }
    }

    [Fact]
    public async Task Should_refuse_an_applied_file_whose_content_changed()
    {
        var db = await TestDatabase.CreateEmptyAsync();
        var dir = Directory.CreateTempSubdirectory("sentinel-migrations-").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(TestDatabase.MigrationsDirectory, "*.sql"))
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            await TestDatabase.MigrateAsync(db, dir);

            File.AppendAllText(Path.Combine(dir, "004_audit.sql"), "\n-- edited after it was applied\n");
            var error = await Assert.ThrowsAsync<ApplyMigrations.ChecksumMismatchException>(() => TestDatabase.MigrateAsync(db, dir));
            Assert.Contains("004_audit.sql", error.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
            await TestDatabase.DropAsync(db);
        }
    }

    [Fact]
    public async Task Should_apply_a_new_file_only()
    {
        var db = await TestDatabase.CreateEmptyAsync();
        var dir = Directory.CreateTempSubdirectory("sentinel-migrations-").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(TestDatabase.MigrationsDirectory, "*.sql"))
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            await TestDatabase.MigrateAsync(db, dir);
            File.WriteAllText(Path.Combine(dir, "900_extra.sql"), "CREATE TABLE extra_table (id int);");

            var result = await TestDatabase.MigrateAsync(db, dir);
            Assert.Equal(["900_extra.sql"], result.Applied);
        }
        finally
        {
            Directory.Delete(dir, true);
            await TestDatabase.DropAsync(db);
        }
    }

    [Fact]
    public async Task Should_let_concurrent_workers_migrate_once()
    {
        var db = await TestDatabase.CreateEmptyAsync();
        try
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TestDatabase.MigrateAsync(db)));
            Assert.Equal(SqlFiles().Length, results.Sum(r => r.Applied.Count));
            await using var c = new NpgsqlConnection(TestDatabase.ConnectionStringFor(db));
            Assert.Equal(SqlFiles().Length, await c.ExecuteScalarAsync<int>("SELECT count(*) FROM schema_migrations"));
        }
        finally
        {
            await TestDatabase.DropAsync(db);
        }
    }

    /// <summary>
    /// The compose path: docker-entrypoint-initdb.d runs each *.sql with psql, then 999_record_migrations.sh.
    /// Afterwards `migrate` must see the database as up to date.
    /// </summary>
    [Fact]
    public async Task Should_see_a_database_created_by_initdb_scripts_as_up_to_date()
    {
        var db = await TestDatabase.CreateEmptyAsync();
        try
        {
            var b = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionStringFor(db));
            var env = new Dictionary<string, string>
            {
                ["PGHOST"] = b.Host!, ["PGPORT"] = b.Port.ToString(), ["PGPASSWORD"] = b.Password ?? "",
                ["POSTGRES_USER"] = b.Username!, ["POSTGRES_DB"] = db,
            };
            foreach (var file in SqlFiles())
                await RunAsync("psql", ["-v", "ON_ERROR_STOP=1", "-q", "-U", b.Username!, "-d", db, "-f", Path.Combine(TestDatabase.MigrationsDirectory, file)], env);
            await RunAsync("sh", [Path.Combine(TestDatabase.MigrationsDirectory, "999_record_migrations.sh")], env);

            var result = await TestDatabase.MigrateAsync(db);
            Assert.Empty(result.Applied);
            Assert.Equal(SqlFiles(), result.AlreadyApplied);
        }
        finally
        {
            await TestDatabase.DropAsync(db);
        }
    }

    private static async Task RunAsync(string file, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} failed: {await stderr}");
    }
}
