using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Outbound HTTPS handlers. SENTINEL_CA_FILE adds one certificate authority (the demo tenant simulator's) to the trust
/// chain, and only for the hosts of ENTRA_INSTANCE and GRAPH_BASE_URL (<see cref="CreateHandler(SentinelSettings)"/>):
/// a certificate issued by that CA for any other host is refused. Every other connection is validated against the
/// system roots exactly as without the setting. Certificate validation itself is never switched off: the extra
/// trust is a full chain build (custom root trust = the CA + the system roots) and host-name mismatches always fail.
/// </summary>
public static class TrustedHttp
{
    /// <summary>The production handler: the CA of SENTINEL_CA_FILE trusted only for the identity provider and Graph hosts.</summary>
    public static SocketsHttpHandler CreateHandler(SentinelSettings settings) =>
        CreateHandler(settings.CaFile, CaScopeHosts(settings));

    /// <summary>The host[:port] authorities the extra CA is trusted for: those of ENTRA_INSTANCE and GRAPH_BASE_URL.</summary>
    public static string[] CaScopeHosts(SentinelSettings settings) =>
        [.. new[] { settings.EntraInstance, settings.GraphBaseUrl }.Select(u => new Uri(u).IdnHost).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>
    /// A handler trusting <paramref name="caFile"/> for <paramref name="trustedHosts"/> only (host names as in the URL);
    /// with no hosts given, for every host (test clients talking to the simulator alone).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(string? caFile, params string[] trustedHosts)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 64,
            AutomaticDecompression = System.Net.DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        if (caFile is null) return handler;

        var ca = LoadPem(caFile);
        var scope = trustedHosts.Length == 0 ? null : new HashSet<string>(trustedHosts, StringComparer.OrdinalIgnoreCase);
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (sender, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None) return true;                     // valid under the system roots
                if (errors != SslPolicyErrors.RemoteCertificateChainErrors) return false; // name mismatch / no certificate: never accepted
                if (certificate is null || sender is not SslStream stream) return false;
                if (scope is not null && !scope.Contains(stream.TargetHostName)) return false;
                return ChainsToCa(certificate, ca);
            },
        };
        return handler;
    }

    public static HttpClient CreateClient(string? caFile, TimeSpan? timeout = null) =>
        new(CreateHandler(caFile)) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    public static HttpClient CreateClient(SentinelSettings settings, TimeSpan? timeout = null) =>
        new(CreateHandler(settings)) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    /// <summary>Full chain build with the configured CA (and the system roots) as the only trust anchors.</summary>
    private static bool ChainsToCa(X509Certificate certificate, X509Certificate2Collection ca)
    {
        using var leaf = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        return chain.Build(leaf);
    }

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
}
