using Npgsql;
using Sentinel.Features.Database;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Worker;

/// <summary>
/// The worker executable's verbs: `serve` (default: migrate, then control plane + scheduler) and `migrate`.
/// Exit codes: 0 ok, 1 failure, 2 bad input (validation), the message on stderr as one line.
/// </summary>
public static class WorkerCli
{
    public const int ExitOk = 0, ExitFailure = 1, ExitUsage = 2;

    /// <summary>Verbs added by feature areas (e.g. `cron`, `run-once`), dispatched by their first word.</summary>
    private static readonly Dictionary<string, Func<string[], CancellationToken, Task<int>>> Verbs = new(StringComparer.Ordinal)
    {
        ["serve"] = (args, _) => WorkerHost.ServeAsync(args),
        ["migrate"] = MigrateAsync,
    };

    public static void AddVerb(string name, Func<string[], CancellationToken, Task<int>> run) => Verbs[name] = run;

    public static async Task<int> RunAsync(string[] args)
    {
        WorkerVerbs.Register();
        var verb = args.Length == 0 || args[0].StartsWith('-') ? "serve" : args[0];
        var rest = args.Length == 0 || args[0].StartsWith('-') ? args : args[1..];
        if (verb is "help" or "--help" or "-h")
        {
            Console.WriteLine("usage: worker [serve|migrate|" + string.Join('|', Verbs.Keys.Where(k => k is not "serve" and not "migrate")) + "] [options]");
            return ExitOk;
        }
        if (!Verbs.TryGetValue(verb, out var run))
        {
            await Console.Error.WriteLineAsync($"error: unknown command '{verb}'; expected one of: {string.Join(", ", Verbs.Keys)}");
            return ExitUsage;
        }

        using var cts = new CancellationTokenSource();
        try
        {
            return await run(rest, cts.Token);
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>One clear line per failure; no stack trace walls for problems a user can fix.</summary>
    public static int Report(Exception e)
    {
        switch (e)
        {
            case RequestValidationException v:
                foreach (var (field, messages) in v.Errors)
                    foreach (var m in messages) Console.Error.WriteLine($"error: {field}: {m}");
                return ExitUsage;
            case ConflictException or NotFoundException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitFailure;
            case ConfigurationException c:
                Console.Error.WriteLine($"error: {c.Message}");
                return ExitFailure;
            case NpgsqlException n when n is not PostgresException:
                Console.Error.WriteLine($"error: cannot reach the database named by DATABASE_URL: {n.InnerException?.Message ?? n.Message}");
                return ExitFailure;
            case PostgresException p when p.SqlState is "3D000" or "28P01" or "28000":
                Console.Error.WriteLine($"error: the database named by DATABASE_URL refused the connection: {p.MessageText}");
                return ExitFailure;
            case ApplyMigrations.ChecksumMismatchException or ApplyMigrations.MigrationFailedException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitFailure;
            default:
                Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
                return ExitFailure;
        }
    }

    private static async Task<int> MigrateAsync(string[] args, CancellationToken ct)
    {
        var result = await WorkerHost.MigrateAsync(ct);
        Console.WriteLine($"migrations: {result.Applied.Count} applied, {result.AlreadyApplied.Count} already up to date");
        foreach (var name in result.Applied) Console.WriteLine($"  applied {name}");
        return ExitOk;
    }
}
