using System.Diagnostics;

namespace Sentinel.Web.Tests;

/// <summary>
/// Page rendering touches only the database. The recorder sees every HttpClient request in the process, so this
/// collection runs alone (no other test signs in or calls the simulator meanwhile).
/// </summary>
[Collection(NoOutboundCollection.Name)]
public sealed class NoOutboundDuringRenderTests(SeededWebFixture fx)
{
    [Fact]
    public async Task Rendering_any_page_makes_no_outbound_http_call_but_the_live_endpoint_does()
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        var web = new Uri(fx.BaseUrl);
        var pages = new[]
        {
            "/", "/inventory/users", "/inventory/groups", "/inventory/groups/g1", "/inventory/sites", "/inventory/drives", "/inventory/items",
            "/inventory/items?q=budget", "/inventory/permissions?link_scope=anonymous", "/inventory/items/d1/i1", "/inventory/permissions?format=csv",
            "/jobs", "/jobs/new", $"/jobs/{Seed.JobId}", $"/jobs/{Seed.JobId}/edit", "/runs", $"/runs/{Seed.RunId}", $"/runs/{Seed.RunId}/progress",
            "/admin", "/audit", "/api/jobs", "/api/runs", "/api/analytics", "/api/schedules",
        };
        using var recorder = new OutboundRecorder(web);
        foreach (var page in pages)
        {
            using var response = await admin.Http.GetAsync(page);
            Assert.True(response.IsSuccessStatusCode, $"{page} → {(int)response.StatusCode}");
        }
        Assert.Empty(recorder.Calls);

        using var live = await admin.Http.GetAsync("/api/graph/drive-item-permissions?driveId=d1&itemId=i1");
        Assert.NotEmpty(recorder.Calls);
    }

    /// <summary>Records every HttpClient request in this process that does not target the web host itself.</summary>
    private sealed class OutboundRecorder : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
    {
        private readonly Uri _web;
        private readonly List<IDisposable> _subscriptions = [];
        public List<string> Calls { get; } = [];

        public OutboundRecorder(Uri web)
        {
            _web = web;
            _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
        }

        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == "HttpHandlerDiagnosticListener") _subscriptions.Add(listener.Subscribe(this));
        }

        public void OnNext(KeyValuePair<string, object?> e)
        {
            if (e.Key != "System.Net.Http.Request") return;
            var request = e.Value?.GetType().GetProperty("Request")?.GetValue(e.Value) as HttpRequestMessage;
            var uri = request?.RequestUri;
            if (uri is null || (uri.Host == _web.Host && uri.Port == _web.Port)) return;
            lock (Calls) Calls.Add(uri.ToString());
        }

        public void OnCompleted() { }
        public void OnError(Exception error) { }
        public void Dispose() { foreach (var s in _subscriptions) s.Dispose(); }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NoOutboundCollection : ICollectionFixture<SeededWebFixture>
{
    public const string Name = "no-outbound";
}
