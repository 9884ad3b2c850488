using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Outbound HTTPS handlers. SENTINEL_CA_FILE adds one certificate authority (the demo tenant simulator's)
/// to the trust chain; certificate validation itself is never switched off.
/// </summary>
public static class TrustedHttp
{
    public static SocketsHttpHandler CreateHandler(string? caFile)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 64,
            AutomaticDecompression = System.Net.DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        if (caFile is null) return handler;

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        // CustomRootTrust trusts only its own store: add the configured CA and the system roots.
        policy.CustomTrustStore.AddRange(LoadPem(caFile));
        using (var roots = new X509Store(StoreName.Root, StoreLocation.LocalMachine))
        {
            try
            {
                roots.Open(OpenFlags.ReadOnly);
                policy.CustomTrustStore.AddRange(roots.Certificates);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // No readable system store: only the configured CA is trusted.
            }
        }
        handler.SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
        return handler;
    }

    public static HttpClient CreateClient(string? caFile, TimeSpan? timeout = null) =>
        new(CreateHandler(caFile)) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };

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
