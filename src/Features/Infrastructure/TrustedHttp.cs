using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Outbound HTTPS handlers. SENTINEL_CA_FILE adds one certificate authority (the demo tenant simulator's) to the trust
/// anchors, and only for the hosts of ENTRA_INSTANCE and GRAPH_BASE_URL (<see cref="CreateHandler(SentinelSettings)"/>):
/// requests to those hosts go through a handler whose TLS chain policy is custom root trust = that CA + the system roots;
/// every other request goes through a plain handler validating against the system roots exactly as without the setting.
/// There is no certificate validation callback anywhere: SslStream builds the chain with the policy and checks the host
/// name itself, so a certificate from another CA, the CA's certificate for another host, or a name mismatch all fail the
/// handshake. Revocation is not checked, as SocketsHttpHandler's default.
/// </summary>
public static class TrustedHttp
{
    /// <summary>The production handler: the CA of SENTINEL_CA_FILE trusted only for the identity provider and Graph hosts.</summary>
    public static HttpMessageHandler CreateHandler(SentinelSettings settings) =>
        CreateHandler(settings.CaFile, CaScopeHosts(settings));

    /// <summary>The host names the extra CA is trusted for: those of ENTRA_INSTANCE and GRAPH_BASE_URL.</summary>
    public static string[] CaScopeHosts(SentinelSettings settings) =>
        [.. new[] { settings.EntraInstance, settings.GraphBaseUrl }.Select(u => new Uri(u).IdnHost).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>
    /// A handler trusting <paramref name="caFile"/> (on top of the system roots) for requests to <paramref name="trustedHosts"/>
    /// only; every other host gets the system roots alone. The CA-trusting side follows no redirects: a redirect to another
    /// host would otherwise reuse its trust (callers see the 3xx).
    /// </summary>
    public static HttpMessageHandler CreateHandler(string? caFile, IReadOnlyCollection<string> trustedHosts)
    {
        if (caFile is null) return NewSocketsHandler();
        if (trustedHosts.Count == 0) throw new ArgumentException("no host to trust the CA for", nameof(trustedHosts));
        var scoped = CreateHandler(caFile);
        scoped.AllowAutoRedirect = false;
        return new HostScopedHandler(scoped, NewSocketsHandler(), trustedHosts);
    }

    /// <summary>
    /// A handler trusting <paramref name="caFile"/> (on top of the system roots) for every host: clients that talk to the
    /// simulator alone (tests, benches). Without a CA file, the system roots.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(string? caFile)
    {
        var handler = NewSocketsHandler();
        if (caFile is null) return handler;
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(LoadPem(caFile));
        policy.CustomTrustStore.AddRange(SystemRoots.Value);
        // SslStream copies the policy for each handshake and checks the host name itself; no validation callback is involved.
        handler.SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
        return handler;
    }

    public static HttpClient CreateClient(string? caFile, TimeSpan? timeout = null) =>
        new(CreateHandler(caFile)) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    public static HttpClient CreateClient(SentinelSettings settings, TimeSpan? timeout = null) =>
        new(CreateHandler(settings)) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    private static SocketsHttpHandler NewSocketsHandler() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 64,
        AutomaticDecompression = System.Net.DecompressionMethods.All,
        ConnectTimeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>
    /// The machine's trusted roots (on Linux: the OpenSSL certificate directory), read once. A machine without a readable
    /// root store trusts only the configured CA for the scoped hosts (fails closed).
    /// </summary>
    private static readonly Lazy<X509Certificate2Collection> SystemRoots = new(() =>
    {
        try
        {
            using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
            return store.Certificates;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return [];
        }
    });

    private static X509Certificate2Collection LoadPem(string path)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new ConfigurationException($"SENTINEL_CA_FILE '{path}' is not a readable PEM certificate: {e.Message}");
        }
        if (collection.Count == 0)
            throw new ConfigurationException($"SENTINEL_CA_FILE '{path}' holds no certificate");
        return collection;
    }

    /// <summary>Sends each request through the CA-trusting handler when its host is in scope, else through the system-trust one.</summary>
    private sealed class HostScopedHandler(SocketsHttpHandler caTrusting, SocketsHttpHandler systemTrust, IEnumerable<string> hosts) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _caTrusting = new(caTrusting, disposeHandler: true);
        private readonly HttpMessageInvoker _systemTrust = new(systemTrust, disposeHandler: true);
        private readonly HashSet<string> _hosts = new(hosts, StringComparer.OrdinalIgnoreCase);

        /// <summary>
        /// In scope when the URL's host is, and so is a Host header if the caller set one: SocketsHttpHandler validates the
        /// certificate against the Host header's name when present, so both names must be trusted ones.
        /// </summary>
        private HttpMessageInvoker For(HttpRequestMessage request)
        {
            if (request.RequestUri is not { IsAbsoluteUri: true } uri || !_hosts.Contains(uri.IdnHost)) return _systemTrust;
            if (request.Headers.Host is { } header && !_hosts.Contains(HostName(header))) return _systemTrust;
            return _caTrusting;
        }

        private static string HostName(string hostHeader) =>
            Uri.TryCreate("https://" + hostHeader, UriKind.Absolute, out var u) ? u.IdnHost : hostHeader;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            For(request).SendAsync(request, cancellationToken);

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
            For(request).Send(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _caTrusting.Dispose();
                _systemTrust.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
