using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Sentinel.GraphSimulator;

/// <summary>
/// Entra ID endpoints: v2 and v1 discovery, JWKS, authorize (user picker), token, logout. Access tokens for the app's own
/// API are v1 or v2 according to <see cref="SimulatorOptions.RequestedAccessTokenVersion"/> (the app manifest's
/// api.requestedAccessTokenVersion); see docs/simulator.md for the sources.
/// </summary>
internal sealed class Identity(Simulator sim)
{
    private sealed record CodeGrant(string ClientId, string RedirectUri, string? Challenge, string? Method, int User, string Scope, string? Nonce, DateTimeOffset Expires)
    {
        public int Redeemed;
    }

    private sealed record RefreshGrant(int User, string Scope, string? Nonce);

    private readonly ConcurrentDictionary<string, CodeGrant> _codes = new();
    private readonly ConcurrentDictionary<string, RefreshGrant> _refresh = new();
    public static readonly string[] GraphAppRoles = ["Sites.Read.All", "Sites.FullControl.All", "User.Read.All", "GroupMember.Read.All", "Directory.Read.All", "Files.Read.All"];
    private static readonly Guid ServicePrincipalId = new("6b1d7c8e-2f3a-4b5c-9d0e-1f2a3b4c5d6e");

    private string Issuer => $"{sim.BaseUrl}/{sim.TenantId}/v2.0";
    /// <summary>The v1 issuer Entra writes into v1 tokens and its v1 discovery document (public cloud form).</summary>
    private string IssuerV1 => $"https://sts.windows.net/{sim.TenantId}/";
    private DateTimeOffset Now => sim.Time.GetUtcNow();

    public bool KnownTenant(string t) =>
        t.Equals(sim.TenantId, StringComparison.OrdinalIgnoreCase) || t.Equals(sim.Options.TenantDomain, StringComparison.OrdinalIgnoreCase)
        || t is "organizations" or "common";

    public async Task Discovery(HttpContext ctx, string tenant)
    {
        if (!KnownTenant(tenant)) { await TenantNotFound(ctx, tenant); return; }
        var b = $"{sim.BaseUrl}/{sim.TenantId}";
        var doc = new JsonObject
        {
            ["token_endpoint"] = $"{b}/oauth2/v2.0/token",
            ["token_endpoint_auth_methods_supported"] = new JsonArray("client_secret_post", "private_key_jwt", "client_secret_basic"),
            ["jwks_uri"] = $"{b}/discovery/v2.0/keys",
            ["response_modes_supported"] = new JsonArray("query", "fragment", "form_post"),
            ["subject_types_supported"] = new JsonArray("pairwise"),
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
            ["response_types_supported"] = new JsonArray("code", "id_token", "code id_token", "id_token token"),
            ["scopes_supported"] = new JsonArray("openid", "profile", "email", "offline_access"),
            ["issuer"] = Issuer,
            ["request_uri_parameter_supported"] = false,
            ["userinfo_endpoint"] = $"{sim.BaseUrl}/oidc/userinfo",
            ["authorization_endpoint"] = $"{b}/oauth2/v2.0/authorize",
            ["device_authorization_endpoint"] = $"{b}/oauth2/v2.0/devicecode",
            ["http_logout_supported"] = true,
            ["frontchannel_logout_supported"] = true,
            ["end_session_endpoint"] = $"{b}/oauth2/v2.0/logout",
            ["claims_supported"] = new JsonArray("sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email", "oid", "roles"),
            ["kerberos_endpoint"] = $"{b}/kerberos",
            ["tenant_region_scope"] = "EU",
            ["cloud_instance_name"] = "microsoftonline.com",
            ["cloud_graph_host_name"] = "graph.windows.net",
            ["msgraph_host"] = new Uri(sim.BaseUrl).Authority,
            ["rbac_url"] = "https://pas.windows.net",
            ["code_challenge_methods_supported"] = new JsonArray("plain", "S256"),
        };
        await Json(ctx, 200, doc);
    }

    /// <summary>
    /// The v1 document Entra serves at /{tenant}/.well-known/openid-configuration: issuer https://sts.windows.net/{tid}/,
    /// v1 endpoints, the same signing keys (its jwks_uri lists the same key set).
    /// </summary>
    public async Task DiscoveryV1(HttpContext ctx, string tenant)
    {
        if (!KnownTenant(tenant)) { await TenantNotFound(ctx, tenant); return; }
        var b = $"{sim.BaseUrl}/{sim.TenantId}";
        var doc = new JsonObject
        {
            ["token_endpoint"] = $"{b}/oauth2/token",
            ["token_endpoint_auth_methods_supported"] = new JsonArray("client_secret_post", "private_key_jwt", "client_secret_basic"),
            ["jwks_uri"] = $"{b}/discovery/keys",
            ["response_modes_supported"] = new JsonArray("query", "fragment", "form_post"),
            ["subject_types_supported"] = new JsonArray("pairwise"),
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
            ["response_types_supported"] = new JsonArray("code", "id_token", "code id_token", "token id_token", "token"),
            ["scopes_supported"] = new JsonArray("openid"),
            ["issuer"] = IssuerV1,
            ["microsoft_multi_refresh_token"] = true,
            ["authorization_endpoint"] = $"{b}/oauth2/authorize",
            ["device_authorization_endpoint"] = $"{b}/oauth2/devicecode",
            ["http_logout_supported"] = true,
            ["frontchannel_logout_supported"] = true,
            ["end_session_endpoint"] = $"{b}/oauth2/logout",
            ["claims_supported"] = new JsonArray("sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"),
            ["check_session_iframe"] = $"{b}/oauth2/checksession",
            ["userinfo_endpoint"] = $"{b}/openid/userinfo",
            ["kerberos_endpoint"] = $"{b}/kerberos",
            ["tenant_region_scope"] = "EU",
            ["cloud_instance_name"] = "microsoftonline.com",
            ["cloud_graph_host_name"] = "graph.windows.net",
            ["msgraph_host"] = new Uri(sim.BaseUrl).Authority,
            ["rbac_url"] = "https://pas.windows.net",
        };
        await Json(ctx, 200, doc);
    }

    public async Task Keys(HttpContext ctx, string tenant)
    {
        var jwk = new JsonObject
        {
            ["kty"] = "RSA", ["use"] = "sig", ["kid"] = sim.Jwt.Kid, ["x5t"] = sim.Jwt.Kid, ["n"] = sim.Jwt.N, ["e"] = sim.Jwt.E,
            ["issuer"] = Issuer,
        };
        await Json(ctx, 200, new JsonObject { ["keys"] = new JsonArray(jwk) });
    }

    // ---------------------------------------------------------------- authorize (user picker)
    public async Task AuthorizeGet(HttpContext ctx, string tenant)
    {
        var q = ctx.Request.Query.ToDictionary(k => k.Key, k => k.Value.ToString());
        await AuthorizeCore(ctx, tenant, q, picked: null);
    }

    public async Task AuthorizePost(HttpContext ctx, string tenant)
    {
        var form = await ctx.Request.ReadFormAsync();
        var q = form.Where(k => k.Key != "login_hint" || ctx.Request.Query.ContainsKey("login_hint")).ToDictionary(k => k.Key, k => k.Value.ToString());
        foreach (var kv in ctx.Request.Query) q.TryAdd(kv.Key, kv.Value.ToString());
        await AuthorizeCore(ctx, tenant, q, form["login_hint"].ToString() is { Length: > 0 } upn ? upn : form["upn"].ToString());
    }

    private async Task AuthorizeCore(HttpContext ctx, string tenant, Dictionary<string, string> q, string? picked)
    {
        string P(string k) => q.TryGetValue(k, out var v) ? v : "";
        if (!KnownTenant(tenant)) { await ErrorPage(ctx, 400, "AADSTS90002", $"Tenant '{tenant}' not found."); return; }
        if (P("client_id") != sim.ClientId) { await ErrorPage(ctx, 400, "AADSTS700016", $"Application with identifier '{P("client_id")}' was not found in the directory '{sim.Options.TenantDomain}'."); return; }
        var redirect = P("redirect_uri");
        if (!Uri.TryCreate(redirect, UriKind.Absolute, out _)) { await ErrorPage(ctx, 400, "AADSTS900144", "The request body must contain the following parameter: 'redirect_uri'."); return; }
        var state = P("state");
        if (P("response_type") != "code") { await Redirect(ctx, redirect, P("response_mode"), ("error", "unsupported_response_type"), ("error_description", "AADSTS700054: response_type 'id_token' is not enabled for the application."), ("state", state)); return; }
        var method = P("code_challenge_method");
        if (P("code_challenge") is { Length: > 0 } && method is not ("S256" or "plain" or ""))
        {
            await Redirect(ctx, redirect, P("response_mode"), ("error", "invalid_request"), ("error_description", "AADSTS501491: Invalid size of Code_Challenge parameter."), ("state", state));
            return;
        }
        if (!P("scope").Split(' ').Contains("openid")) { await Redirect(ctx, redirect, P("response_mode"), ("error", "invalid_request"), ("error_description", "AADSTS900144: The request body must contain the following parameter: 'scope' with openid."), ("state", state)); return; }
        if (string.IsNullOrEmpty(picked))
        {
            await Picker(ctx, tenant, q);
            return;
        }
        var user = sim.Tenant.Users.FindIndex(u => u.Upn.Equals(picked, StringComparison.OrdinalIgnoreCase) && !u.Deleted);
        if (user < 0) { await ErrorPage(ctx, 400, "AADSTS50034", $"The user account {picked} does not exist in the {sim.Options.TenantDomain} directory."); return; }
        if (!sim.Tenant.Users[user].Enabled) { await ErrorPage(ctx, 400, "AADSTS50057", "The user account is disabled."); return; }
        var code = "1.A" + Jwt.B64(RandomNumberGenerator.GetBytes(48));
        _codes[code] = new CodeGrant(P("client_id"), redirect, P("code_challenge") is { Length: > 0 } c ? c : null, method is { Length: > 0 } ? method : null,
            user, P("scope"), P("nonce") is { Length: > 0 } n ? n : null, Now.AddMinutes(10));
        await Redirect(ctx, redirect, P("response_mode"), ("code", code), ("state", state), ("session_state", sim.Tenant.Users[user].Id.ToString()));
    }

    private async Task Picker(HttpContext ctx, string tenant, Dictionary<string, string> q)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Sign in to your account</title>")
          .Append("<style>body{font-family:Segoe UI,Arial,sans-serif;background:#f2f2f2}main{max-width:440px;margin:60px auto;background:#fff;padding:36px;box-shadow:0 2px 6px rgba(0,0,0,.2)}")
          .Append("button{display:block;width:100%;text-align:left;margin:6px 0;padding:10px;border:1px solid #ccc;background:#fff;cursor:pointer}button:hover{background:#eef}small{color:#666}</style></head><body><main>")
          .Append("<h1>Pick an account</h1><p><small>Sentinel tenant simulator · ").Append(WebUtility.HtmlEncode(sim.Options.TenantDomain)).Append("</small></p>")
          .Append("<form method=\"post\" action=\"").Append(WebUtility.HtmlEncode($"/{tenant}/oauth2/v2.0/authorize")).Append("\">");
        foreach (var (k, v) in q)
        {
            if (k is "login_hint" or "upn") continue;
            sb.Append("<input type=\"hidden\" name=\"").Append(WebUtility.HtmlEncode(k)).Append("\" value=\"").Append(WebUtility.HtmlEncode(v)).Append("\">");
        }
        var shown = sim.Tenant.Users.Where(u => !u.Deleted && u.Enabled && !u.Guest).Take(Generator.DemoUsers.Length + 8);
        foreach (var u in shown)
        {
            var role = u.AppRole ?? "no app role";
            sb.Append("<button type=\"submit\" name=\"login_hint\" value=\"").Append(WebUtility.HtmlEncode(u.Upn)).Append("\" data-upn=\"").Append(WebUtility.HtmlEncode(u.Upn))
              .Append("\"><strong>").Append(WebUtility.HtmlEncode(u.DisplayName)).Append("</strong><br><small>").Append(WebUtility.HtmlEncode(u.Upn)).Append(" · ")
              .Append(WebUtility.HtmlEncode(role)).Append("</small></button>");
        }
        sb.Append("</form></main></body></html>");
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/html; charset=utf-8";
        await ctx.Response.WriteAsync(sb.ToString());
    }

    private static Task Redirect(HttpContext ctx, string redirectUri, string responseMode, params (string K, string V)[] ps)
    {
        var pairs = ps.Where(p => !string.IsNullOrEmpty(p.V)).ToArray();
        if (responseMode == "form_post")
        {
            var sb = new StringBuilder("<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"><title>Working...</title></head><body onload=\"document.forms[0].submit()\"><form method=\"POST\" action=\"")
                .Append(WebUtility.HtmlEncode(redirectUri)).Append("\">");
            foreach (var (k, v) in pairs) sb.Append("<input type=\"hidden\" name=\"").Append(k).Append("\" value=\"").Append(WebUtility.HtmlEncode(v)).Append("\">");
            sb.Append("<noscript><input type=\"submit\" value=\"Continue\"></noscript></form></body></html>");
            ctx.Response.ContentType = "text/html; charset=utf-8";
            return ctx.Response.WriteAsync(sb.ToString());
        }
        var sep = redirectUri.Contains('?') ? '&' : '?';
        var url = redirectUri + sep + string.Join('&', pairs.Select(p => $"{p.K}={Uri.EscapeDataString(p.V)}"));
        ctx.Response.StatusCode = 302;
        ctx.Response.Headers.Location = url;
        return Task.CompletedTask;
    }

    public Task Logout(HttpContext ctx, string tenant)
    {
        var to = ctx.Request.Query["post_logout_redirect_uri"].ToString();
        if (Uri.TryCreate(to, UriKind.Absolute, out _))
        {
            var state = ctx.Request.Query["state"].ToString();
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = string.IsNullOrEmpty(state) ? to : to + (to.Contains('?') ? "&" : "?") + "state=" + Uri.EscapeDataString(state);
            return Task.CompletedTask;
        }
        ctx.Response.ContentType = "text/html; charset=utf-8";
        return ctx.Response.WriteAsync("<!DOCTYPE html><html><body><h1>You signed out of your account</h1></body></html>");
    }

    // ---------------------------------------------------------------- token
    public async Task Token(HttpContext ctx, string tenant)
    {
        if (!KnownTenant(tenant)) { await TenantNotFound(ctx, tenant); return; }
        if (!ctx.Request.HasFormContentType) { await AadError(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."); return; }
        var f = await ctx.Request.ReadFormAsync();
        string F(string k) => f[k].ToString();
        var clientId = F("client_id");
        var secret = F("client_secret");
        var basic = ctx.Request.Headers.Authorization.ToString();
        if (basic.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var dec = Encoding.UTF8.GetString(Convert.FromBase64String(basic[6..].Trim())).Split(':', 2);
            clientId = WebUtility.UrlDecode(dec[0]);
            secret = dec.Length > 1 ? WebUtility.UrlDecode(dec[1]) : "";
        }
        var grant = F("grant_type");
        if (string.IsNullOrEmpty(grant)) { await AadError(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."); return; }
        if (grant is not ("client_credentials" or "authorization_code" or "refresh_token"))
        { await AadError(ctx, 400, "unsupported_grant_type", 70003, $"The app requested an unsupported grant type '{grant}'."); return; }
        if (string.IsNullOrEmpty(clientId)) { await AadError(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."); return; }
        var caller = clientId == sim.ClientId ? null : sim.Options.ClientApps.FirstOrDefault(a => a.ClientId.Equals(clientId, StringComparison.OrdinalIgnoreCase));
        if (clientId != sim.ClientId && caller is null) { await AadError(ctx, 400, "unauthorized_client", 700016, $"Application with identifier '{clientId}' was not found in the directory '{sim.Options.TenantDomain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."); return; }
        if (string.IsNullOrEmpty(secret)) { await AadError(ctx, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."); return; }
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(caller?.ClientSecret ?? sim.ClientSecret)))
        { await AadError(ctx, 401, "invalid_client", 7000215, $"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{caller?.ClientId ?? sim.ClientId}'."); return; }
        if (caller is not null)
        {
            await ClientAppToken(ctx, caller, grant, F("scope").Trim());
            return;
        }

        switch (grant)
        {
            case "client_credentials":
            {
                var scope = F("scope").Trim();
                if (!scope.EndsWith("/.default", StringComparison.Ordinal))
                { await AadError(ctx, 400, "invalid_scope", 1002012, $"The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."); return; }
                var resource = scope[..^"/.default".Length];
                if (resource is "https://graph.microsoft.com" or "00000003-0000-0000-c000-000000000000")
                {
                    Interlocked.Increment(ref sim.Faults.Stats.TokensIssued);
                    await Json(ctx, 200, new JsonObject { ["token_type"] = "Bearer", ["expires_in"] = 3599, ["ext_expires_in"] = 3599, ["access_token"] = GraphAppToken() });
                    return;
                }
                if (resource == $"api://{sim.ClientId}" || resource == sim.ClientId)
                {
                    // Sentinel's own service principal holds no Sentinel app role: the token carries no roles claim.
                    Interlocked.Increment(ref sim.Faults.Stats.TokensIssued);
                    await Json(ctx, 200, new JsonObject { ["token_type"] = "Bearer", ["expires_in"] = 3599, ["ext_expires_in"] = 3599,
                        ["access_token"] = ApiAppToken(sim.ClientId, ServicePrincipalId.ToString(), "Princeton Sentinel", [], resource) });
                    return;
                }
                await AadError(ctx, 400, "invalid_scope", 70011, $"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.");
                return;
            }
            case "authorization_code":
            {
                var code = F("code");
                if (!_codes.TryGetValue(code, out var g)) { await AadError(ctx, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."); return; }
                if (Interlocked.Exchange(ref g.Redeemed, 1) == 1) { await AadError(ctx, 400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."); return; }
                if (Now > g.Expires) { await AadError(ctx, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."); return; }
                if (g.ClientId != clientId) { await AadError(ctx, 400, "invalid_grant", 70000, "Provided grant is invalid or malformed."); return; }
                if (F("redirect_uri") != g.RedirectUri) { await AadError(ctx, 400, "invalid_grant", 500112, $"The reply address '{F("redirect_uri")}' does not match the reply address '{g.RedirectUri}' provided when requesting Authorization code."); return; }
                if (g.Challenge is not null)
                {
                    var verifier = F("code_verifier");
                    var computed = g.Method == "plain" ? verifier : Jwt.B64(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
                    if (string.IsNullOrEmpty(verifier) || computed != g.Challenge)
                    { await AadError(ctx, 400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."); return; }
                }
                var scope = string.IsNullOrWhiteSpace(F("scope")) ? g.Scope : F("scope");
                await UserTokens(ctx, g.User, scope, g.Nonce);
                return;
            }
            default:
            {
                var rt = F("refresh_token");
                if (!_refresh.TryGetValue(rt, out var r)) { await AadError(ctx, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."); return; }
                var u = sim.Tenant.Users[r.User];
                if (u.Deleted || !u.Enabled) { await AadError(ctx, 400, "invalid_grant", 50057, "The user account is disabled."); return; }
                var scope = string.IsNullOrWhiteSpace(F("scope")) ? r.Scope : F("scope");
                await UserTokens(ctx, r.User, scope, null);
                return;
            }
        }
    }

    private async Task UserTokens(HttpContext ctx, int userIdx, string scope, string? nonce)
    {
        var u = sim.Tenant.Users[userIdx];
        var scopes = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var apiPrefix = $"api://{sim.ClientId}/";
        var apiScopes = scopes.Where(s => s.StartsWith(apiPrefix, StringComparison.OrdinalIgnoreCase)).Select(s => s[apiPrefix.Length..]).ToList();
        var foreign = scopes.FirstOrDefault(s => s.Contains("://") && !s.StartsWith(apiPrefix, StringComparison.OrdinalIgnoreCase) && !s.StartsWith("https://graph.microsoft.com/", StringComparison.OrdinalIgnoreCase));
        if (foreign is not null) { await AadError(ctx, 400, "invalid_resource", 500011, $"The resource principal named {foreign} was not found in the tenant named {sim.Options.TenantDomain}."); return; }
        if (apiScopes.Any(s => s is not ("access_as_user" or ".default")))
        { await AadError(ctx, 400, "invalid_scope", 70011, $"The provided value for the input parameter 'scope' is not valid. The scope {string.Join(' ', apiScopes)} does not exist."); return; }
        var now = Now.ToUnixTimeSeconds();
        var oid = u.Id.ToString();
        var roles = u.AppRole is null ? null : new JsonArray(u.AppRole);
        string accessToken;
        string grantedScope;
        if (apiScopes.Count > 0)
        {
            // Entra issues the API's token in the version its manifest asks for (api.requestedAccessTokenVersion; null = 1).
            // v2: aud = the client id, iss = the v2 issuer, azp. v1: aud = the App ID URI requested, iss = sts.windows.net, appid.
            var at = sim.Options.RequestedAccessTokenVersion == 2
                ? new JsonObject
                {
                    ["aud"] = sim.ClientId, ["iss"] = Issuer, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599,
                    ["aio"] = "sim", ["azp"] = sim.ClientId, ["azpacr"] = "1", ["name"] = u.DisplayName, ["oid"] = oid,
                    ["preferred_username"] = u.Upn, ["rh"] = "0.sim.", ["scp"] = "access_as_user", ["sub"] = Sub(u), ["tid"] = sim.TenantId,
                    ["uti"] = Jwt.B64(RandomNumberGenerator.GetBytes(16)), ["ver"] = "2.0",
                }
                : new JsonObject
                {
                    ["aud"] = $"api://{sim.ClientId}", ["iss"] = IssuerV1, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599,
                    ["acr"] = "1", ["aio"] = "sim", ["amr"] = new JsonArray("pwd"), ["appid"] = sim.ClientId, ["appidacr"] = "1",
                    ["name"] = u.DisplayName, ["oid"] = oid, ["rh"] = "0.sim.", ["scp"] = "access_as_user", ["sub"] = Sub(u), ["tid"] = sim.TenantId,
                    ["unique_name"] = u.Upn, ["upn"] = u.Upn, ["uti"] = Jwt.B64(RandomNumberGenerator.GetBytes(16)), ["ver"] = "1.0",
                };
            if (roles is not null) at["roles"] = roles.DeepClone();
            accessToken = sim.Jwt.Sign(at);
            grantedScope = $"api://{sim.ClientId}/access_as_user";
        }
        else
        {
            var at = new JsonObject
            {
                ["aud"] = "https://graph.microsoft.com", ["iss"] = $"https://sts.windows.net/{sim.TenantId}/", ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599,
                ["appid"] = sim.ClientId, ["appidacr"] = "1", ["idtyp"] = "user", ["name"] = u.DisplayName, ["oid"] = oid, ["scp"] = "openid profile User.Read email",
                ["sub"] = Sub(u), ["tid"] = sim.TenantId, ["unique_name"] = u.Upn, ["upn"] = u.Upn, ["ver"] = "1.0",
            };
            accessToken = sim.Jwt.Sign(at);
            grantedScope = "openid profile User.Read email";
        }
        var idt = new JsonObject
        {
            ["aud"] = sim.ClientId, ["iss"] = Issuer, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599,
            ["name"] = u.DisplayName, ["oid"] = oid, ["preferred_username"] = u.Upn, ["email"] = u.Mail, ["rh"] = "0.sim.", ["sid"] = Jwt.B64(SHA256.HashData(Encoding.UTF8.GetBytes(oid)))[..20],
            ["sub"] = Sub(u), ["tid"] = sim.TenantId, ["uti"] = Jwt.B64(RandomNumberGenerator.GetBytes(16)), ["ver"] = "2.0",
        };
        if (nonce is not null) idt["nonce"] = nonce;
        if (roles is not null) idt["roles"] = roles.DeepClone();
        var refresh = "1.AR" + Jwt.B64(RandomNumberGenerator.GetBytes(64));
        _refresh[refresh] = new RefreshGrant(userIdx, string.Join(' ', scopes), nonce);
        Interlocked.Increment(ref sim.Faults.Stats.TokensIssued);
        var clientInfo = Jwt.B64(Encoding.UTF8.GetBytes(new JsonObject { ["uid"] = oid, ["utid"] = sim.TenantId }.ToJsonString()));
        await Json(ctx, 200, new JsonObject
        {
            ["token_type"] = "Bearer",
            ["scope"] = grantedScope + (scopes.Contains("offline_access") ? " offline_access" : "") + " openid profile",
            ["expires_in"] = 3599, ["ext_expires_in"] = 3599,
            ["access_token"] = accessToken, ["refresh_token"] = refresh, ["id_token"] = sim.Jwt.Sign(idt), ["client_info"] = clientInfo,
        });
    }

    private string Sub(User u) => Jwt.B64(SHA256.HashData(Encoding.UTF8.GetBytes(u.Id + sim.ClientId)))[..43];

    public string GraphAppToken() => GraphAppToken(sim.ClientId, ServicePrincipalId.ToString(), "Princeton Sentinel", GraphAppRoles);

    /// <summary>A v1 app-only Graph token; <c>roles</c> = the Graph application permissions granted (omitted when none).</summary>
    private string GraphAppToken(string appId, string servicePrincipalId, string displayName, IReadOnlyList<string> graphRoles)
    {
        var now = Now.ToUnixTimeSeconds();
        var t = new JsonObject
        {
            ["aud"] = "https://graph.microsoft.com", ["iss"] = $"https://sts.windows.net/{sim.TenantId}/", ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599,
            ["aio"] = "sim", ["app_displayname"] = displayName, ["appid"] = appId, ["appidacr"] = "1",
            ["idp"] = $"https://sts.windows.net/{sim.TenantId}/", ["idtyp"] = "app", ["oid"] = servicePrincipalId, ["rh"] = "0.sim.",
            ["sub"] = servicePrincipalId, ["tenant_region_scope"] = "EU", ["tid"] = sim.TenantId,
            ["uti"] = Jwt.B64(RandomNumberGenerator.GetBytes(16)), ["ver"] = "1.0",
        };
        if (graphRoles.Count > 0)
        {
            var roles = new JsonArray();
            foreach (var r in graphRoles) roles.Add(r);
            t["roles"] = roles;
        }
        return sim.Jwt.Sign(t);
    }

    /// <summary>
    /// Client credentials of another app registration (<see cref="ClientApp"/>). Only client_credentials: no code or refresh
    /// token was ever issued to it (a guess: Entra's answer to a grant issued to another client, 70000). Scope
    /// {sentinel}/.default → an app-only Sentinel API token with the caller's app roles; Graph → a v1 Graph token without
    /// roles (no Graph application permission is granted to it; Graph then answers 403); any other resource → 500011.
    /// </summary>
    private async Task ClientAppToken(HttpContext ctx, ClientApp app, string grant, string scope)
    {
        if (grant != "client_credentials") { await AadError(ctx, 400, "invalid_grant", 70000, "Provided grant is invalid or malformed."); return; }
        if (!scope.EndsWith("/.default", StringComparison.Ordinal))
        { await AadError(ctx, 400, "invalid_scope", 1002012, $"The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."); return; }
        var resource = scope[..^"/.default".Length];
        string token;
        if (resource == $"api://{sim.ClientId}" || resource.Equals(sim.ClientId, StringComparison.OrdinalIgnoreCase))
            token = ApiAppToken(app.ClientId, app.ServicePrincipalId, app.DisplayName, app.Roles ?? [], resource);
        else if (resource is "https://graph.microsoft.com" or "00000003-0000-0000-c000-000000000000")
            token = GraphAppToken(app.ClientId, app.ServicePrincipalId, app.DisplayName, []);
        else
        {
            await AadError(ctx, 400, "invalid_resource", 500011, $"The resource principal named {resource} was not found in the tenant named {sim.Options.TenantDomain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.");
            return;
        }
        Interlocked.Increment(ref sim.Faults.Stats.TokensIssued);
        await Json(ctx, 200, new JsonObject { ["token_type"] = "Bearer", ["expires_in"] = 3599, ["ext_expires_in"] = 3599, ["access_token"] = token });
    }

    /// <summary>
    /// An app-only access token for the Sentinel API, in the version the Sentinel manifest asks for: v2 aud = the Sentinel client
    /// id, azp/azpacr; v1 aud = the resource as requested (api://{id} or the id), appid/appidacr, app_displayname (guess: seen in
    /// v1 app tokens, not in the claims reference). Both: idtyp app, oid = sub = the caller's service principal, roles only when
    /// one is assigned, no scp.
    /// </summary>
    private string ApiAppToken(string appId, string servicePrincipalId, string displayName, IReadOnlyList<string> roles, string requestedResource)
    {
        var now = Now.ToUnixTimeSeconds();
        var t = sim.Options.RequestedAccessTokenVersion == 2
            ? new JsonObject
            {
                ["aud"] = sim.ClientId, ["iss"] = Issuer, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599, ["aio"] = "sim",
                ["azp"] = appId, ["azpacr"] = "1", ["idtyp"] = "app", ["oid"] = servicePrincipalId, ["rh"] = "0.sim.", ["sub"] = servicePrincipalId,
                ["tid"] = sim.TenantId, ["uti"] = Jwt.B64(RandomNumberGenerator.GetBytes(16)), ["ver"] = "2.0",
            }
            : new JsonObject
            {
                ["aud"] = requestedResource, ["iss"] = IssuerV1, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3599, ["aio"] = "sim",
                ["app_displayname"] = displayName, ["appid"] = appId, ["appidacr"] = "1", ["idp"] = IssuerV1, ["idtyp"] = "app",
                ["oid"] = servicePrincipalId, ["rh"] = "0.sim.", ["sub"] = servicePrincipalId,
                ["tid"] = sim.TenantId, ["uti"] = Jwt.B64(RandomNumberGenerator.GetBytes(16)), ["ver"] = "1.0",
            };
        if (roles.Count > 0)
        {
            var r = new JsonArray();
            foreach (var role in roles) r.Add(role);
            t["roles"] = r;
        }
        return sim.Jwt.Sign(t);
    }

    private Task TenantNotFound(HttpContext ctx, string tenant) =>
        AadError(ctx, 400, "invalid_tenant", 90002, $"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");

    private async Task AadError(HttpContext ctx, int status, string error, int code, string description)
    {
        var trace = Guid.NewGuid().ToString();
        var corr = ctx.Request.Headers["client-request-id"].ToString() is { Length: > 0 } c ? c : Guid.NewGuid().ToString();
        var ts = Now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ssZ");
        await Json(ctx, status, new JsonObject
        {
            ["error"] = error,
            ["error_description"] = $"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}",
            ["error_codes"] = new JsonArray(code),
            ["timestamp"] = ts, ["trace_id"] = trace, ["correlation_id"] = corr,
            ["error_uri"] = $"{sim.BaseUrl}/error?code={code}",
        });
    }

    private static async Task ErrorPage(HttpContext ctx, int status, string code, string message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/html; charset=utf-8";
        await ctx.Response.WriteAsync($"<!DOCTYPE html><html><body><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">{WebUtility.HtmlEncode(code)}: {WebUtility.HtmlEncode(message)}</p></body></html>");
    }

    private static async Task Json(HttpContext ctx, int status, JsonObject o)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store, no-cache";
        await ctx.Response.WriteAsync(o.ToJsonString());
    }
}
