using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sentinel.GraphSimulator;

/// <summary>RS256 JWTs signed with a key kept in the cert dir (signing-key.pem) so tokens survive restarts.</summary>
internal sealed class Jwt
{
    private readonly RSA _key;
    public string Kid { get; }
    public string N { get; }
    public string E { get; }

    public Jwt(string certDir)
    {
        Directory.CreateDirectory(certDir);
        var file = Path.Combine(certDir, "signing-key.pem");
        _key = RSA.Create();
        try
        {
            if (File.Exists(file)) _key.ImportFromPem(File.ReadAllText(file));
            else Create(file);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            Create(file);
        }
        var p = _key.ExportParameters(false);
        N = B64(p.Modulus!);
        E = B64(p.Exponent!);
        Kid = B64(SHA256.HashData(p.Modulus!)[..20]);
    }

    private void Create(string file)
    {
        _key.KeySize = 2048;
        var k = RSA.Create(2048);
        var pem = k.ExportPkcs8PrivateKeyPem();
        var tmp = file + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(tmp, pem);
        try { File.Move(tmp, file, false); }
        catch (IOException) { File.Delete(tmp); }
        _key.ImportFromPem(File.ReadAllText(file));
    }

    public string Sign(JsonObject payload)
    {
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "RS256", ["kid"] = Kid, ["x5t"] = Kid };
        var h = B64(Encoding.UTF8.GetBytes(header.ToJsonString()));
        var b = B64(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var input = h + "." + b;
        var sig = _key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + B64(sig);
    }

    /// <summary>Signature check + payload; null when malformed or not ours.</summary>
    public JsonObject? Validate(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            var sig = FromB64(parts[2]);
            if (!_key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                return null;
            return JsonNode.Parse(FromB64(parts[1])) as JsonObject;
        }
        catch (Exception e) when (e is FormatException or JsonException or CryptographicException)
        {
            return null;
        }
    }

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromB64(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
        return Convert.FromBase64String(s);
    }
}
