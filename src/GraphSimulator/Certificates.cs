using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sentinel.GraphSimulator;

/// <summary>
/// A private CA and a server certificate for 127.0.0.1/localhost/the host name, generated on first start into the
/// cert directory (ca.pem is what SENTINEL_CA_FILE points at) and reused afterwards.
/// </summary>
internal static class Certificates
{
    /// <summary>
    /// Copies the CA certificate (never its key) to <paramref name="dir"/> (the directory web and worker mount), so the
    /// cert directory holding ca.key.pem can stay private to the simulator. Returns the exported path.
    /// </summary>
    public static string ExportCa(string caFile, string dir)
    {
        Directory.CreateDirectory(dir);
        var target = Path.Combine(dir, "ca.pem");
        var tmp = target + ".tmp";
        File.Copy(caFile, tmp, overwrite: true);
        File.Move(tmp, target, overwrite: true);
        return target;
    }

    public static (X509Certificate2 Server, string CaFile) LoadOrCreate(string dir, string host, string? publicHost = null)
    {
        Directory.CreateDirectory(dir);
        var caFile = Path.Combine(dir, "ca.pem");
        var caKeyFile = Path.Combine(dir, "ca.key.pem");
        var serverFile = Path.Combine(dir, "server.pfx");
        var lockFile = Path.Combine(dir, ".lock");
        using var _ = AcquireLock(lockFile);

        X509Certificate2 ca;
        if (File.Exists(caFile) && File.Exists(caKeyFile))
        {
            ca = X509Certificate2.CreateFromPemFile(caFile, caKeyFile);
        }
        else
        {
            using var caKey = RSA.Create(2048);
            var req = new CertificateRequest("CN=Sentinel Tenant Simulator CA, O=Princeton Sentinel", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
            req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
            req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
            ca = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
            WriteAtomic(caKeyFile, caKey.ExportPkcs8PrivateKeyPem());
            WriteAtomic(caFile, ca.ExportCertificatePem());
            if (File.Exists(serverFile)) File.Delete(serverFile);
        }

        var wantedNames = new[] { "localhost", "127.0.0.1", "::1", Dns.GetHostName(), host, publicHost ?? "", "graph-simulator", "simulator", "sim" }
            .Where(n => !string.IsNullOrWhiteSpace(n) && n != "0.0.0.0" && n != "::").Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (File.Exists(serverFile))
        {
            var existing = X509CertificateLoader.LoadPkcs12FromFile(serverFile, null);
            if (existing.NotAfter > DateTime.Now.AddDays(7) && existing.Issuer == ca.Subject && CoversNames(existing, wantedNames))
                return (existing, caFile);
        }

        using var key = RSA.Create(2048);
        var sreq = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in wantedNames)
        {
            if (IPAddress.TryParse(n, out var ip)) san.AddIpAddress(ip); else san.AddDnsName(n);
        }
        sreq.CertificateExtensions.Add(san.Build());
        sreq.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        sreq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        sreq.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        sreq.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = sreq.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(2), serial);
        var withKey = signed.CopyWithPrivateKey(key);
        var pfx = withKey.Export(X509ContentType.Pfx);
        File.WriteAllBytes(serverFile + ".tmp", pfx);
        File.Move(serverFile + ".tmp", serverFile, true);
        return (X509CertificateLoader.LoadPkcs12(pfx, null), caFile);
    }

    private static bool CoversNames(X509Certificate2 cert, string[] names)
    {
        var ext = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (ext is null) return false;
        var dns = ext.EnumerateDnsNames().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var ips = ext.EnumerateIPAddresses().Select(i => i.ToString()).ToHashSet();
        return names.All(n => IPAddress.TryParse(n, out var ip) ? ips.Contains(ip.ToString()) : dns.Contains(n));
    }

    private static void WriteAtomic(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, true);
    }

    /// <summary>Parallel test processes may share a cert dir: serialise generation with an exclusive lock file.</summary>
    private static FileStream AcquireLock(string path)
    {
        for (var i = 0; ; i++)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (i < 300) { Thread.Sleep(50); }
        }
    }
}
