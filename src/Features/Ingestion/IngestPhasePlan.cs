using System.Diagnostics;
using System.Runtime.ExceptionServices;
using static Sentinel.Features.Ingestion.GraphIngestConfig;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The order a graph_ingest run's phases go in. Users → drives → drive items → permissions → views is a chain: each
/// reads what the ones before it wrote. Groups and sites are read by none of the phases before the one named in
/// <see cref="JoinBefore"/>, so they start with the run and go on alongside the chain until then. Each is a chain of
/// Graph requests of its own (delta pages, getAllSites pages), and on real Graph every request is 100–300 ms of
/// latency: run one after the other they add up in front of the drives (`large`: 103 users pages, 246 groups pages,
/// 75 site requests). The drives phase waits for the site list itself (<see cref="WaitsItselfFor"/>): the users'
/// OneDrives, most of its requests, do not need it. Groups are awaited before the drive items although that phase
/// does not read them: it keeps every core busy by itself, and a directory read next to it only slows it by as much
/// (measured, bench/RESULTS.md "Issue 11, session 9").
/// <para>
/// Each phase works on its own <see cref="IngestRun.Branch"/> (exact requests and resource units per phase). The
/// <c>completed</c> callback runs on the caller's flow, one phase at a time, in chain order: a phase alongside is
/// reported when it is joined. A phase that fails stops the others (the run fails as it did when phases ran one by
/// one; what they committed stays) and its failure is the one thrown.
/// </para>
/// </summary>
internal static class IngestPhasePlan
{
    /// <summary>A phase outside the chain, and the phases that may only start once it completed (those that read what it writes).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> JoinBefore = new Dictionary<string, string[]>
    {
        [Phases.Groups] = [Phases.DriveItems, Phases.Permissions, Phases.RefreshViews],
        [Phases.Sites] = [Phases.Drives, Phases.DriveItems, Phases.Permissions, Phases.RefreshViews],
    };

    /// <summary>
    /// A chain phase that starts before a phase alongside that it reads has completed, because it waits for it itself
    /// where it needs it (<see cref="PhaseBody"/>'s <c>whenDone</c>): the drives list the users' OneDrives while the site
    /// list is still being read, and wait for it before the sites' libraries. The phase alongside is reported just before
    /// the phase that waited for it.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> WaitsItselfFor = new Dictionary<string, string>
    {
        [Phases.Drives] = Phases.Sites,
    };

    /// <summary>What one phase did: its slice result, wall time, and the Graph requests and resource units it drew.</summary>
    public sealed record PhaseDone(string Phase, object? Result, TimeSpan Elapsed, long Requests, long ResourceUnits);

    /// <param name="whenDone">Completes when the named phase has (at once when it is not running alongside).</param>
    public delegate Task<object?> PhaseBody(string phase, IngestRun branch, Func<string, CancellationToken, Task> whenDone, CancellationToken ct);

    public delegate Task PhaseCompleted(PhaseDone done, CancellationToken ct);

    /// <param name="phases">The phases to run (any subset, in <see cref="AllPhases"/> order).</param>
    public static async Task RunAsync(IReadOnlyList<string> phases, IngestRun run, PhaseBody body, PhaseCompleted completed, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var alongside = new List<(string Phase, Task<PhaseDone> Task)>();
        var chain = phases.Where(p => !JoinBefore.ContainsKey(p)).ToList();
        ExceptionDispatchInfo? failure = null;
        try
        {
            foreach (var phase in phases.Where(JoinBefore.ContainsKey))
            {
                // Run in order when the chain's first phase must wait for it: nothing to overlap with.
                if (chain.Count == 0 || JoinBefore[phase].Contains(chain[0])) continue;
                run.StartAlongside(phase);
                alongside.Add((phase, Alongside(phase)));
            }
            foreach (var phase in phases)
            {
                if (alongside.Any(a => a.Phase == phase)) continue;
                var waitsItselfFor = WaitsItselfFor.GetValueOrDefault(phase);
                foreach (var joined in alongside.Where(a => JoinBefore[a.Phase].Contains(phase) && a.Phase != waitsItselfFor).ToList())
                    await JoinAsync(joined);
                run.Phase = phase;
                await run.ReportAsync(stop.Token, force: true);
                var done = await TimedAsync(phase, stop.Token);
                // the phase it waited for itself is reported first, as if it had been joined before
                if (alongside.FirstOrDefault(a => a.Phase == waitsItselfFor) is { Phase: not null } waited) await JoinAsync(waited);
                await completed(done, stop.Token);
            }
            foreach (var joined in alongside.ToList()) await JoinAsync(joined);
        }
        catch (Exception) when (!ct.IsCancellationRequested && Volatile.Read(ref failure) is { } stopped)
        {
            // a phase alongside failed and stopped the chain (whatever the stopped phase made of it): its failure is the run's
            stopped.Throw();
            throw;
        }
        finally
        {
            if (alongside.Any(a => !a.Task.IsCompleted)) await stop.CancelAsync();
            foreach (var (_, task) in alongside)
                try { await task; } catch (Exception) { /* the failure that ended the run is the one reported */ }
        }

        async Task<PhaseDone> Alongside(string phase)
        {
            await Task.Yield();
            try
            {
                return await TimedAsync(phase, stop.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                await stop.CancelAsync();
                throw;
            }
            finally
            {
                run.EndAlongside(phase);
            }
        }

        Task WhenDone(string phase, CancellationToken token) =>
            alongside.FirstOrDefault(a => a.Phase == phase) is { Task: { } task } ? task.WaitAsync(token) : Task.CompletedTask;

        async Task JoinAsync((string Phase, Task<PhaseDone> Task) joined)
        {
            alongside.Remove(joined);
            if (!joined.Task.IsCompleted)
            {
                run.Phase = joined.Phase;
                await run.ReportAsync(stop.Token, force: true);
            }
            await completed(await joined.Task, stop.Token);
        }

        async Task<PhaseDone> TimedAsync(string phase, CancellationToken token)
        {
            var branch = run.Branch();
            var watch = Stopwatch.StartNew();
            var result = await body(phase, branch, WhenDone, token);
            return new PhaseDone(phase, result, watch.Elapsed, branch.Graph.Requests, branch.Graph.ResourceUnits);
        }
    }
}
