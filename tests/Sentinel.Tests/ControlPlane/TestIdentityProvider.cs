using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Sentinel.Tests.ControlPlane;

/// <summary>
/// A minimal Entra stand-in for tests: an HTTPS server (certificate issued by a test CA written to a PEM file, to be
/// trusted through SENTINEL_CA_FILE — validation stays on) serving the v2.0 and v1 discovery documents (issuers
/// {instance}{tenant}/v2.0 and https://sts.windows.net/{tenant}/, as Entra) and JWKS of a test RSA key, and a minter for
/// v1/v2 access tokens (or ID tokens) signed with it, or deliberately broken ones.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    public const string TenantId = "11111111-2222-3333-4444-555555555555";
    public const string ClientId = "66666666-7777-8888-9999-000000000000";

    private readonly WebApplication _app;
    private readonly RSA _signingKey = RSA.Create(2048);
    private readonly string _dir;

    public string BaseUrl { get; }
    public string CaFile { get; }
    public string Instance => BaseUrl + "/";
    public string Issuer => $"{BaseUrl}/{TenantId}/v2.0";
    public const string IssuerV1 = $"https://sts.windows.net/{TenantId}/";
    public int DiscoveryRequests;

    private TestIdentityProvider(WebApplication app, string baseUrl, string caFile, string dir, RSA key)
    {
        _app = app;
        BaseUrl = baseUrl;
        CaFile = caFile;
        _dir = dir;
        _signingKey = key;
    }

    public static async Task<TestIdentityProvider> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("sentinel-idp-").FullName;
        var (ca, server) = CreateCertificates();
        var caFile = Path.Combine(dir, "ca.pem");
        await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());

        var key = RSA.Create(2048);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(server)));
        var app = builder.Build();
        TestIdentityProvider? self = null;
        app.MapGet($"/{TenantId}/v2.0/.well-known/openid-configuration", (HttpContext http) =>
        {
            Interlocked.Increment(ref self!.DiscoveryRequests);
            return Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = self.Issuer,
                ["jwks_uri"] = $"{self.BaseUrl}/{TenantId}/discovery/v2.0/keys",
                ["authorization_endpoint"] = $"{self.BaseUrl}/{TenantId}/oauth2/v2.0/authorize",
                ["token_endpoint"] = $"{self.BaseUrl}/{TenantId}/oauth2/v2.0/token",
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            });
        });
        app.MapGet($"/{TenantId}/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = IssuerV1,
            ["jwks_uri"] = $"{self!.BaseUrl}/{TenantId}/discovery/keys",
            ["authorization_endpoint"] = $"{self.BaseUrl}/{TenantId}/oauth2/authorize",
            ["token_endpoint"] = $"{self.BaseUrl}/{TenantId}/oauth2/token",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet($"/{TenantId}/discovery/keys", Keys);
        app.MapGet($"/{TenantId}/discovery/v2.0/keys", Keys);
        IResult Keys()
        {
            var p = key.ExportParameters(false);
            return Results.Json(new
            {
                keys = new[] { new { kty = "RSA", use = "sig", kid = "test-key", alg = "RS256", n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) } },
            });
        }
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        self = new TestIdentityProvider(app, $"https://127.0.0.1:{port}", caFile, dir, key);
        return self;
    }

    /// <summary>
    /// A token as Entra would issue for the worker API (v2 by default: iss v2, aud api://{client id}, azp; v1: iss sts.windows.net,
    /// appid); the parameters break it on purpose. <paramref name="idToken"/>: an ID token of the same user (aud = client id, no scp/azp);
    /// <paramref name="appOnly"/>: an app-only token of <paramref name="client"/> (client credentials; <paramref name="scope"/> ignored).
    /// </summary>
    public string Mint(string[] roles, string? audience = null, string? issuer = null, TimeSpan? expiresIn = null, bool badSignature = false,
        string oid = "00000000-0000-0000-0000-00000000c0de", string upn = "operator@contoso.onmicrosoft.com", string name = "Olga Operator",
        int version = 2, string? client = ClientId, string? scope = "access_as_user", bool idToken = false, bool appOnly = false)
    {
        var key = badSignature ? RSA.Create(2048) : _signingKey;
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(30));
        var claims = new Dictionary<string, object>
        {
            ["oid"] = oid,
            ["name"] = name,
            ["tid"] = TenantId,
            ["roles"] = roles,
            ["ver"] = version == 1 ? "1.0" : "2.0",
        };
        if (!appOnly) claims[version == 1 ? "upn" : "preferred_username"] = upn;
        if (appOnly)
        {
            // Client credentials of an app acting as itself: oid = sub = its service principal, idtyp app, no scp, no user.
            claims.Remove("name");
            claims["sub"] = oid;
            claims["idtyp"] = "app";
            if (client is not null) claims[version == 1 ? "appid" : "azp"] = client;
        }
        else if (idToken)
        {
            claims["nonce"] = "n0nce";
        }
        else
        {
            if (scope is not null) claims["scp"] = scope;
            if (client is not null) claims[version == 1 ? "appid" : "azp"] = client;
        }
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? (version == 1 ? IssuerV1 : Issuer),
            Audience = audience ?? (idToken ? ClientId : $"api://{ClientId}"),
            IssuedAt = expires < now ? expires.AddMinutes(-20) : now,
            NotBefore = expires < now ? expires.AddMinutes(-20) : now.AddMinutes(-1),
            Expires = expires,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key) { KeyId = "test-key" }, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    private static (X509Certificate2 Ca, X509Certificate2 Server) CreateCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Sentinel Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));

        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(6), serial);
        using var withKey = issued.CopyWithPrivateKey(serverKey);
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
        return (ca, server);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _signingKey.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
