using System.Security.Cryptography;
using Dapper;
using FluentValidation;
using MediatR;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Database;

/// <summary>
/// `worker migrate`: applies db/init/*.sql in name order, records each (name + sha256) in schema_migrations,
/// skips recorded files and refuses to continue when an applied file has changed. An advisory lock makes
/// concurrent workers wait for each other instead of racing.
/// </summary>
public static class ApplyMigrations
{
    public sealed record Command(string Directory) : IExecutorRequest<Result>;

    public sealed record Result(IReadOnlyList<string> Applied, IReadOnlyList<string> AlreadyApplied);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Directory).NotEmpty().WithMessage("directory is required (set SENTINEL_DB_INIT_DIR)");
    }

    public sealed class ChecksumMismatchException(string file)
        : Exception($"migration {file} was already applied but its content has changed since; restore the original file and add a new numbered file for the change");

    /// <summary>Arbitrary constant; only migrate takes it.</summary>
    internal const long LockKey = 0x53454E54494E454C; // "SENTINEL"

    private const string EnsureTableSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
        """;

    private const string RecordSql = "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (@Name, @Checksum, @Now)";

    public static string DefaultDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("SENTINEL_DB_INIT_DIR");
        if (!string.IsNullOrEmpty(configured)) return configured;
        var beside = Path.Combine(AppContext.BaseDirectory, "db", "init");
        if (System.IO.Directory.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "db", "init");
            if (System.IO.Directory.Exists(candidate)) return candidate;
        }
        return beside;
    }

    public static string Checksum(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    internal sealed class Handler(Db db, TimeProvider clock, ILogger<Handler> logger) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            if (!System.IO.Directory.Exists(request.Directory))
                throw new ConfigurationException($"migration directory '{request.Directory}' does not exist (set SENTINEL_DB_INIT_DIR)");

            var files = System.IO.Directory.GetFiles(request.Directory, "*.sql")
                .OrderBy(Path.GetFileName, StringComparer.Ordinal)
                .Select(path => (Name: Path.GetFileName(path), Content: File.ReadAllBytes(path)))
                .ToList();

            await using var connection = await db.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@LockKey)", new { LockKey }, cancellationToken: ct));
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(EnsureTableSql, cancellationToken: ct));
                var recorded = (await connection.QueryAsync<(string Name, string Checksum)>(
                        new CommandDefinition("SELECT name, checksum FROM schema_migrations", cancellationToken: ct)))
                    .ToDictionary(r => r.Name, r => r.Checksum);

                var applied = new List<string>();
                var skipped = new List<string>();
                foreach (var (name, content) in files)
                {
                    var checksum = Checksum(content);
                    if (recorded.TryGetValue(name, out var known))
                    {
                        if (!string.Equals(known, checksum, StringComparison.OrdinalIgnoreCase))
                            throw new ChecksumMismatchException(name);
                        skipped.Add(name);
                        continue;
                    }

                    await using var tx = await connection.BeginTransactionAsync(ct);
                    try
                    {
                        await using (var cmd = new NpgsqlCommand(System.Text.Encoding.UTF8.GetString(content), connection, tx))
                        {
                            cmd.CommandTimeout = 0;
                            await cmd.ExecuteNonQueryAsync(ct);
                        }
                        await connection.ExecuteAsync(new CommandDefinition(RecordSql,
                            new { Name = name, Checksum = checksum, Now = clock.GetUtcNow() }, tx, cancellationToken: ct));
                        await tx.CommitAsync(ct);
                    }
                    catch (PostgresException e)
                    {
                        throw new MigrationFailedException(name, e);
                    }
                    logger.LogInformation("applied migration {Migration}", name);
                    applied.Add(name);
                }
                return new Result(applied, skipped);
            }
            finally
            {
                await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@LockKey)", new { LockKey }, cancellationToken: CancellationToken.None));
            }
        }
    }

    public sealed class MigrationFailedException(string file, PostgresException inner)
        : Exception($"migration {file} failed: {inner.SqlState} {inner.MessageText}{(inner.Position > 0 ? $" (at character {inner.Position})" : "")}", inner);
}
