namespace Sentinel.Worker;

/// <summary>Registers the verbs of feature areas beyond serve/migrate. One line per area.</summary>
internal static class WorkerVerbs
{
    public static void Register()
    {
        WorkerCli.AddVerb("cron", CronVerb.RunAsync);
        WorkerCli.AddVerb("run-once", RunOnceVerb.RunAsync);
    }
}
