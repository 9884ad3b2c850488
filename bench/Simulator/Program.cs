using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Sentinel.GraphSimulator;

// Drive-item delta throughput of the simulator (faults off), in-process server + HTTPS client on the same machine.
// usage: dotnet run -c Release --project bench/Simulator -- [--profile large] [--items N] [--page-size 200] [--parallel 4] [--seconds 0 (= whole tenant)]
var profile = Arg("--profile", "large");
var items = Arg("--items", "");
var pageSize = int.Parse(Arg("--page-size", "200"));
var parallel = int.Parse(Arg("--parallel", "4"));
var maxSeconds = double.Parse(Arg("--seconds", "0"));
var full = Arg("--full-check", "0") == "1";

if (Arg("--external", "0") == "1") { await External.RunAsync(args); return; }

var gen = Stopwatch.StartNew();
var o = new SimulatorOptions
{
    Profile = profile, Seed = 42, Port = 0, PageSize = pageSize, Quirks = true,
    CertDir = Path.Combine(Path.GetTempPath(), "sentinel-sim-bench-certs"),
    Items = items.Length > 0 ? int.Parse(items) : null,
};
await using var sim = await SimulatorInstance.StartAsync(o);
gen.Stop();
GC.Collect(2, GCCollectionMode.Forced, true, true);
var heapAfterGen = GC.GetTotalMemory(true);
Console.WriteLine($"profile {profile}: {sim.Core.Tenant.ItemCount:N0} items, {sim.Core.Tenant.Drives.Count:N0} drives, {sim.Core.Tenant.Users.Count:N0} users; generated+started in {gen.Elapsed.TotalSeconds:F1} s; managed heap {heapAfterGen / 1048576.0:F0} MiB; working set {Environment.WorkingSet / 1048576.0:F0} MiB");

if (Arg("--state", "0") == "1")
{
    var swT = Stopwatch.StartNew();
    var counting = new CountingStream();
    await sim.WriteStateAsync(counting);
    Console.WriteLine($"ground truth: {counting.Length / 1048576.0:F0} MiB streamed in {swT.Elapsed.TotalSeconds:F1} s; working set {Environment.WorkingSet / 1048576.0:F0} MiB, peak {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
    return;
}
if (Arg("--serialize-only", "0") == "1")
{
    // no HTTP: the cost of producing the pages alone
    var core = sim.Core;
    var swS = Stopwatch.StartNew();
    var cpuS = Process.GetCurrentProcess().TotalProcessorTime;
    long n0 = sim.Stats.DriveItemsServed, pagesS = 0;
    foreach (var d in core.Tenant.Drives)
    {
        string? link = null;
        var path = $"/drives/{d.Id}/root/delta";
        while (true)
        {
            var req = new GraphRequest { Path = path };
            if (link is not null) req.Query["token"] = link;
            var route = core.Graph.Resolve(req);
            var resp = new GraphResponse();
            using (var w = new Utf8JsonWriter(resp.Body, Simulator.WriterOptions)) route.Run!(resp, w);
            pagesS++;
            var span = resp.Body.WrittenSpan;
            var at = span.LastIndexOf("?token="u8);
            var at2 = span.LastIndexOf("(token='"u8);
            if (span.IndexOf("@odata.deltaLink"u8) >= 0) break;
            if (at >= 0) { var r = span[(at + 7)..]; link = Encoding.UTF8.GetString(r[..r.IndexOf((byte)'"')]); }
            else { var r = span[(at2 + 8)..]; link = Encoding.UTF8.GetString(r[..r.IndexOf((byte)'\'')]); }
        }
        if (swS.Elapsed.TotalSeconds > 20) break;
    }
    var nS = sim.Stats.DriveItemsServed - n0;
    Console.WriteLine($"serialize-only: {nS:N0} items, {pagesS:N0} pages in {swS.Elapsed.TotalSeconds:F1} s = {nS / swS.Elapsed.TotalSeconds:N0} items/s (one thread), {nS / (Process.GetCurrentProcess().TotalProcessorTime - cpuS).TotalSeconds:N0} items per CPU-second");
    return;
}
using var http = new HttpClient(Trusted(sim.CaFile)) { Timeout = TimeSpan.FromMinutes(5) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", sim.IssueGraphToken());
http.DefaultRequestVersion = new Version(1, 1);
var drives = sim.Core.Tenant.Drives.Select(d => d.Id).ToArray();
var next = -1;
long pages = 0, bytes = 0, itemsSeen = 0;
long peakWs = 0;
var deadline = maxSeconds > 0 ? DateTime.UtcNow.AddSeconds(maxSeconds) : DateTime.MaxValue;
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
var sw = Stopwatch.StartNew();
var startServed = sim.Stats.DriveItemsServed;
var monitor = Task.Run(async () =>
{
    while (true)
    {
        peakWs = Math.Max(peakWs, Process.GetCurrentProcess().WorkingSet64);
        await Task.Delay(250);
        if (Volatile.Read(ref next) >= drives.Length + parallel) return;
    }
});
await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
{
    var nextLink = "\"@odata.nextLink\":\""u8.ToArray();
    var deltaLink = "\"@odata.deltaLink\":\""u8.ToArray();
    var buffer = new byte[1 << 20];
    while (true)
    {
        var k = Interlocked.Increment(ref next);
        if (k >= drives.Length || DateTime.UtcNow > deadline) return;
        var url = $"{sim.GraphBaseUrl}/drives/{drives[k]}/root/delta";
        while (url is not null)
        {
            using var resp = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            resp.EnsureSuccessStatusCode();
            await using var stream = await resp.Content.ReadAsStreamAsync();
            var len = 0;
            int r;
            while ((r = await stream.ReadAsync(buffer.AsMemory(len))) > 0)
            {
                len += r;
                if (len == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            }
            var body = buffer.AsMemory(0, len);
            Interlocked.Increment(ref pages);
            Interlocked.Add(ref bytes, len);
            if (full)
            {
                using var doc = JsonDocument.Parse(body);
                Interlocked.Add(ref itemsSeen, doc.RootElement.GetProperty("value").GetArrayLength());
            }
            url = null;
            var span = body.Span;
            var at = span.LastIndexOf(nextLink);
            if (at >= 0)
            {
                var rest = span[(at + nextLink.Length)..];
                url = Encoding.UTF8.GetString(rest[..rest.IndexOf((byte)'"')]);
            }
            else if (span.LastIndexOf(deltaLink) < 0) throw new InvalidOperationException("page without nextLink or deltaLink");
        }
    }
}));
sw.Stop();
Interlocked.Exchange(ref next, drives.Length + parallel);
await monitor;
var served = sim.Stats.DriveItemsServed - startServed;
Console.WriteLine($"served {served:N0} drive items in {pages:N0} pages ({bytes / 1048576.0:F0} MiB JSON) in {sw.Elapsed.TotalSeconds:F1} s with {parallel} parallel clients, page size {pageSize}");
var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
Console.WriteLine($"throughput: {served / sw.Elapsed.TotalSeconds:N0} items/s wall, {pages / sw.Elapsed.TotalSeconds:N0} pages/s; CPU {cpu:F1} s (server + TLS client) = {served / cpu:N0} items per CPU-second; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
Console.WriteLine($"peak working set (server + client, one process): {peakWs / 1048576.0:F0} MiB; managed heap now {GC.GetTotalMemory(false) / 1048576.0:F0} MiB");
if (full) Console.WriteLine($"items parsed by the client: {itemsSeen:N0}");

string Arg(string name, string def)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : def;
}

// Same trust model as Sentinel.Features.Infrastructure.TrustedHttp (kept local so the bench builds on its own).
static SocketsHttpHandler Trusted(string caFile)
{
    var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
    var ca = new X509Certificate2Collection();
    ca.ImportFromPemFile(caFile);
    policy.CustomTrustStore.AddRange(ca);
    return new SocketsHttpHandler { MaxConnectionsPerServer = 64, SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
}

sealed class CountingStream : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _n;
    private long _n;
    public override long Position { get => _n; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => _n += count;
    public override void Write(ReadOnlySpan<byte> buffer) => _n += buffer.Length;
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) { _n += buffer.Length; return ValueTask.CompletedTask; }
}

/// <summary>
/// --external 1: the simulator runs in its own process (as in the ingestion benchmark); the server's own CPU time is
/// read from /proc so the figure does not depend on the client or on other load on the machine.
/// </summary>
static class External
{
    public static async Task RunAsync(string[] args)
    {
        string Arg(string name, string def) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : def; }
        var profile = Arg("--profile", "large");
        var parallel = int.Parse(Arg("--parallel", "4"));
        var pageSize = Arg("--page-size", "200");
        var port = Arg("--port", "5611");
        var certDir = Path.Combine(Path.GetTempPath(), "sentinel-sim-bench-certs");
        var dll = Path.Combine(AppContext.BaseDirectory, "Sentinel.GraphSimulator.dll");
        var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" --profile {profile} --seed 42 --port {port} --cert-dir \"{certDir}\" --page-size {pageSize}")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var server = Process.Start(psi)!;
        try
        {
            var baseUrl = $"https://127.0.0.1:{port}";
            using var http = new HttpClient(Trusted(Path.Combine(certDir, "ca.pem"), wait: true)) { Timeout = TimeSpan.FromMinutes(5) };
            JsonElement info = default;
            for (var k = 0; k < 600; k++)
            {
                try { info = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/_sim/info")).RootElement; break; }
                catch (HttpRequestException) { await Task.Delay(200); }
            }
            var tokenResp = await http.PostAsync($"{baseUrl}/{info.GetProperty("tenantId").GetString()}/oauth2/v2.0/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials", ["client_id"] = info.GetProperty("clientId").GetString()!, ["client_secret"] = "sim-secret",
                ["scope"] = "https://graph.microsoft.com/.default",
            }));
            var token = JsonDocument.Parse(await tokenResp.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            // drive ids: sites' libraries + users' OneDrives would cost many calls; the ground truth lists them all
            var drives = new List<string>();
            using (var truth = JsonDocument.Parse(await http.GetStreamAsync($"{baseUrl}/_sim/state")))
                foreach (var d in truth.RootElement.GetProperty("drives").EnumerateArray()) drives.Add(d.GetProperty("id").GetString()!);
            var items0 = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/_sim/stats")).RootElement.GetProperty("driveItemsServed").GetInt64();
            var cpu0 = CpuSeconds(server.Id);
            var sw = Stopwatch.StartNew();
            var next = -1;
            long pages = 0;
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
            {
                var buffer = new byte[1 << 20];
                var nextLink = "\"@odata.nextLink\":\""u8.ToArray();
                while (true)
                {
                    var k = Interlocked.Increment(ref next);
                    if (k >= drives.Count) return;
                    string? url = $"{baseUrl}/v1.0/drives/{drives[k]}/root/delta";
                    while (url is not null)
                    {
                        using var resp = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                        resp.EnsureSuccessStatusCode();
                        await using var stream = await resp.Content.ReadAsStreamAsync();
                        int len = 0, r;
                        while ((r = await stream.ReadAsync(buffer.AsMemory(len))) > 0) { len += r; if (len == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2); }
                        Interlocked.Increment(ref pages);
                        var span = buffer.AsSpan(0, len);
                        var at = span.LastIndexOf(nextLink);
                        url = null;
                        if (at >= 0) { var rest = span[(at + nextLink.Length)..]; url = Encoding.UTF8.GetString(rest[..rest.IndexOf((byte)'"')]); }
                    }
                }
            }));
            sw.Stop();
            var cpu = CpuSeconds(server.Id) - cpu0;
            var items = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/_sim/stats")).RootElement.GetProperty("driveItemsServed").GetInt64() - items0;
            var rss = File.ReadAllLines($"/proc/{server.Id}/status").First(l => l.StartsWith("VmHWM")).Split(':')[1].Trim();
            Console.WriteLine($"external simulator ({profile}, page size {pageSize}): {items:N0} drive items in {pages:N0} pages in {sw.Elapsed.TotalSeconds:F1} s with {parallel} clients");
            Console.WriteLine($"throughput: {items / sw.Elapsed.TotalSeconds:N0} items/s wall; simulator CPU {cpu:F1} s = {items / cpu:N0} items per simulator CPU-second; simulator peak RSS {rss}; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(f[11]) + long.Parse(f[12])) / 100.0; // utime + stime in clock ticks (USER_HZ = 100)
    }

    private static SocketsHttpHandler Trusted(string caFile, bool wait)
    {
        for (var k = 0; wait && !File.Exists(caFile) && k < 300; k++) Thread.Sleep(100);
        return TrustedHandler.Create(caFile);
    }
}

static class TrustedHandler
{
    public static SocketsHttpHandler Create(string caFile)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(caFile);
        policy.CustomTrustStore.AddRange(ca);
        return new SocketsHttpHandler { MaxConnectionsPerServer = 64, SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
    }
}
