using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>Graph v1.0 resources over the tenant model. All writers run under the tenant read lock.</summary>
internal sealed partial class GraphApi(Simulator sim)
{
    private Tenant T => sim.Tenant;
    private long Now => sim.Time.GetUtcNow().ToUnixTimeSeconds();
    /// <summary>Directory delta tokens expire after ~7 days (syncStateNotFound); drive tokens after 30 days (410 resync).</summary>
    public const long DirectoryTokenLifetime = 7 * 86400, DriveTokenLifetime = 30 * 86400;
    private string G => sim.GraphBaseUrl;
    private SimulatorOptions O => sim.Options;

    // Routing: which resource a path names, its endpoint name and RU cost. The resources themselves live in
    // GraphApi.Directory.cs, GraphApi.Sites.cs, GraphApi.Drives.cs and GraphApi.Permissions.cs.
    public Route Resolve(GraphRequest req)
    {
        var segs = req.Path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var r = new Route();
        if (req.Method != "GET") return Error(r, "method", 405, "BadRequest", "Only GET is simulated for this resource.");
        if (segs.Length == 0) return Error(r, "root", 404, "BadRequest", "Invalid request");
        var s0 = segs[0].ToLowerInvariant();
        switch (s0)
        {
            case "users" or "groups" when segs.Length == 2 && IsDelta(segs[1], out _):
            {
                var users = s0 == "users";
                var token = Q(req, "$skiptoken") ?? Q(req, "$deltatoken");
                r.Endpoint = users ? "users/delta" : "groups/delta";
                r.SharePoint = false;
                r.Ru = Q(req, "$select") is null ? 2 : 1;
                r.DirDeltaWithToken = token is not null && token != "latest";
                r.Run = (resp, w) => DirectoryDelta(req, resp, w, users ? CursorKind.Users : CursorKind.Groups, token);
                return r;
            }
            case "users" when segs.Length == 3 && segs[2].Equals("drive", StringComparison.OrdinalIgnoreCase):
                r.Endpoint = "users/drive"; r.Ru = 1;
                r.Run = (resp, w) => UserDrive(resp, w, segs[1], single: true);
                return r;
            case "users" when segs.Length == 3 && segs[2].Equals("drives", StringComparison.OrdinalIgnoreCase):
                r.Endpoint = "users/drives"; r.Ru = 2;
                r.Run = (resp, w) => UserDrive(resp, w, segs[1], single: false);
                return r;
            case "users" when segs.Length == 2:
                r.Endpoint = "users/{id}"; r.SharePoint = false; r.Ru = 1;
                r.Run = (resp, w) => GetUser(resp, w, segs[1], Q(req, "$select"));
                return r;
            case "sites" when segs.Length == 2 && IsGetAllSites(segs[1]):
                r.Endpoint = "sites/getAllSites"; r.Ru = 2;
                r.Run = (resp, w) => AllSites(req, resp, w);
                return r;
            case "sites" when segs.Length >= 2:
            {
                var siteKey = segs[1];
                if (segs.Length == 2) { r.Endpoint = "sites/{id}"; r.Ru = 1; r.Run = (resp, w) => GetSite(resp, w, siteKey); return r; }
                var sub = segs[2].ToLowerInvariant();
                if (segs.Length == 3 && sub == "drives") { r.Endpoint = "sites/{id}/drives"; r.Ru = 2; r.Run = (resp, w) => SiteDrives(resp, w, siteKey); return r; }
                if (segs.Length == 3 && sub == "sites") { r.Endpoint = "sites/{id}/sites"; r.Ru = 2; r.Run = (resp, w) => Subsites(resp, w, siteKey); return r; }
                if (segs.Length == 3 && sub == "drive") { r.Endpoint = "sites/{id}/drive"; r.Ru = 1; r.Run = (resp, w) => SiteDefaultDrive(resp, w, siteKey); return r; }
                if (segs.Length == 3 && sub == "permissions") { r.Endpoint = "sites/{id}/permissions"; r.Ru = 5; r.Run = (resp, w) => SitePermissions(resp, w, siteKey); return r; }
                return Error(r, "sites/other", 400, "BadRequest", $"Resource not found for the segment '{segs[2]}'.");
            }
            case "drives" when segs.Length >= 2:
                return DriveRoute(req, r, segs);
            default:
                return Error(r, "unknown", 400, "BadRequest", $"Resource not found for the segment '{segs[0]}'.");
        }
    }

    private Route DriveRoute(GraphRequest req, Route r, string[] segs)
    {
        var driveKey = segs[1];
        if (segs.Length == 2) { r.Endpoint = "drives/{id}"; r.Ru = 1; r.Run = (resp, w) => GetDrive(resp, w, driveKey); return r; }
        // /drives/{d}/root[/delta|/permissions] and /drives/{d}/items/{i}[/delta|/permissions]
        string itemKey; int rest;
        if (segs[2].Equals("root", StringComparison.OrdinalIgnoreCase)) { itemKey = "root"; rest = 3; }
        else if (segs[2].Equals("items", StringComparison.OrdinalIgnoreCase) && segs.Length >= 4) { itemKey = segs[3]; rest = 4; }
        else return Error(r, "drives/other", 400, "BadRequest", $"Resource not found for the segment '{segs[2]}'.");
        if (segs.Length == rest) { r.Endpoint = "drives/{id}/items/{id}"; r.Ru = 1; r.Run = (resp, w) => GetItem(resp, w, driveKey, itemKey); return r; }
        if (segs.Length == rest + 1 && IsDelta(segs[rest], out var pathToken))
        {
            if (!itemKey.Equals("root", StringComparison.OrdinalIgnoreCase))
                return Error(r, "drives/items/delta", 400, "invalidRequest", "Delta is only supported on the root of a drive in this simulator.");
            var token = pathToken ?? Q(req, "token") ?? Q(req, "$skiptoken") ?? Q(req, "$deltatoken");
            r.Endpoint = "drives/{id}/root/delta";
            r.DriveDeltaWithToken = token is not null && token != "latest";
            r.Ru = r.DriveDeltaWithToken ? 1 : 2;
            r.Run = (resp, w) => DriveDelta(req, resp, w, driveKey, token);
            return r;
        }
        if (segs.Length == rest + 1 && segs[rest].Equals("permissions", StringComparison.OrdinalIgnoreCase))
        {
            r.Endpoint = "drives/{id}/items/{id}/permissions"; r.Ru = 5;
            r.Run = (resp, w) => ItemPermissions(req, resp, w, driveKey, itemKey);
            return r;
        }
        if (segs.Length == rest + 1 && segs[rest].Equals("children", StringComparison.OrdinalIgnoreCase))
        {
            r.Endpoint = "drives/{id}/items/{id}/children"; r.Ru = 2;
            r.Run = (resp, w) => Children(resp, w, driveKey, itemKey);
            return r;
        }
        return Error(r, "drives/other", 400, "BadRequest", $"Resource not found for the segment '{segs[rest]}'.");
    }

    private static bool IsGetAllSites(string s) =>
        s.Equals("getAllSites", StringComparison.OrdinalIgnoreCase) || s.Equals("getAllSites()", StringComparison.OrdinalIgnoreCase)
        || s.Equals("oneDrive.getAllSites", StringComparison.OrdinalIgnoreCase) || s.Equals("microsoft.graph.getAllSites()", StringComparison.OrdinalIgnoreCase)
        || s.Equals("microsoft.graph.getAllSites", StringComparison.OrdinalIgnoreCase);

    /// <summary>delta, delta(), microsoft.graph.delta(), delta(token='…').</summary>
    private static bool IsDelta(string seg, out string? token)
    {
        token = null;
        var s = seg.StartsWith("microsoft.graph.", StringComparison.OrdinalIgnoreCase) ? seg[16..] : seg;
        if (s.Equals("delta", StringComparison.OrdinalIgnoreCase) || s.Equals("delta()", StringComparison.OrdinalIgnoreCase)) return true;
        if (!s.StartsWith("delta(", StringComparison.OrdinalIgnoreCase) || !s.EndsWith(')')) return false;
        var inner = s[6..^1];
        var eq = inner.IndexOf('=');
        if (eq < 0) return false;
        token = inner[(eq + 1)..].Trim('\'', '"');
        return true;
    }

    private static string? Q(GraphRequest req, string key) => req.Query.TryGetValue(key, out var v) ? v : null;

    private static Route Error(Route r, string endpoint, int status, string code, string message)
    {
        r.Endpoint = endpoint;
        r.Ru = 1;
        r.Run = (resp, w) => WriteError(resp, w, status, code, message);
        return r;
    }

    public static void WriteError(GraphResponse resp, Utf8JsonWriter w, int status, string code, string message, string? innerCode = null)
    {
        resp.Status = status;
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteStartObject("innerError");
        if (innerCode is not null) w.WriteString("code", innerCode);
        w.WriteString("date", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss"));
        var rid = Guid.NewGuid().ToString();
        w.WriteString("request-id", rid);
        w.WriteString("client-request-id", rid);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
