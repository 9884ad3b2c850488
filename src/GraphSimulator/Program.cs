using System.Globalization;
using System.Text.Json;
using Sentinel.GraphSimulator;

// CLI: every --flag also from SIM_FLAG (upper snake case); tenant/client/secret also from ENTRA_TENANT_ID / ENTRA_CLIENT_ID / ENTRA_CLIENT_SECRET.
try
{
    var o = SimulatorCli.Parse(args, Environment.GetEnvironmentVariables());
    if (o is null) return 0;
    await using var sim = await SimulatorInstance.StartAsync(o);
    var info = sim.Core.Tenant;
    Console.WriteLine($"Sentinel tenant simulator: profile {o.Profile}, seed {o.Seed} ({info.Users.Count} users, {info.Groups.Count} groups, {info.Sites.Count} sites, {info.Drives.Count} drives, {info.ItemCount} items)");
    Console.WriteLine($"  base URL        {sim.BaseUrl}");
    Console.WriteLine($"  ENTRA_INSTANCE  {sim.EntraInstance}");
    Console.WriteLine($"  Graph           {sim.GraphBaseUrl}");
    Console.WriteLine($"  tenant / client {sim.TenantId} / {sim.ClientId}");
    Console.WriteLine($"  CA certificate  {Path.GetFullPath(sim.CaFile)}   (SENTINEL_CA_FILE)");
    foreach (var app in sim.ClientApps)
        Console.WriteLine($"  client app      {app.ClientId}  {app.DisplayName} ({(app.Roles is { Count: > 0 } r ? string.Join(", ", r) : "no role")}; secret: see docs/simulator.md or --client-apps)");
    Console.WriteLine($"  admin           {sim.BaseUrl}/_sim/state  /_sim/mutate  /_sim/faults  /_sim/stats");
    // the host's console lifetime turns Ctrl+C / SIGTERM into a graceful stop
    await sim.WaitForShutdownAsync(CancellationToken.None);
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine("run with --help for the flags");
    return 2;
}

namespace Sentinel.GraphSimulator
{
    public static class SimulatorCli
    {
        public const string Help = """
            Sentinel tenant simulator (Entra ID + Microsoft Graph v1.0 over HTTPS)
              --profile small|demo|large|tiny   tenant size (default small)            SIM_PROFILE
              --seed N                          deterministic seed (default 42)        SIM_SEED
              --port N                          HTTPS port (default 5443; 0 = any)     SIM_PORT
              --host ADDR                       bind address (default 127.0.0.1)       SIM_HOST
              --public-url URL                  base URL in links/issuers when clients reach it by another name
                                                (compose: https://simulator:5443; added to the certificate)  SIM_PUBLIC_URL
              --cert-dir DIR                    CA + server cert + signing key (default .data/sim)  SIM_CERT_DIR
              --ca-export-dir DIR               also write ca.pem (certificate only, no key) here, for
                                                web/worker to mount instead of the cert dir   SIM_CA_EXPORT_DIR
              --tenant-id / --client-id / --client-secret   (default ENTRA_TENANT_ID / ENTRA_CLIENT_ID / ENTRA_CLIENT_SECRET)
              --tenant-domain D                 default contoso.onmicrosoft.com        SIM_TENANT_DOMAIN
              --page-size N                     drive delta page size (default 200)    SIM_PAGE_SIZE
              --directory-page-size N           users/groups delta page size (100)     SIM_DIRECTORY_PAGE_SIZE
              --sites-page-size N               getAllSites page size (10)             SIM_SITES_PAGE_SIZE
              --members-per-page N              members@delta slice per group (500)     SIM_MEMBERS_PER_PAGE
              --users/--groups/--sites/--items N  override the profile's sizes
              --mutate-per-tick N               random mutations per tick (0 = off)    SIM_MUTATE_PER_TICK
              --mutate-interval-seconds S       tick interval (default 60)             SIM_MUTATE_INTERVAL_SECONDS
              --no-quirks                       no empty pages / duplicates / nameless deletes   SIM_NO_QUIRKS=1
              --faults JSON|@file               initial fault config (shape of POST /_sim/faults)  SIM_FAULTS
              --fault-429 P --fault-503 P --fault-500 P --fault-504 P --fault-reset P --fault-batch-429 P
              --fault-resync P --fault-sync-state P --retry-after S --retry-after-date-share P
              --latency-ms MIN-MAX --ru-budget N  (each also SIM_FAULT_429 … SIM_LATENCY_MS, SIM_RU_BUDGET)
              --requested-access-token-version 1|2   app manifest api.requestedAccessTokenVersion: version of
                                                tokens for api://{client id} (default 1, Entra's default)  SIM_REQUESTED_ACCESS_TOKEN_VERSION
              --client-apps JSON|@file          other app registrations calling the Sentinel API as themselves:
                                                [{"displayName","clientId","clientSecret","servicePrincipalId","roles":["Sentinel.Reader"]}]
                                                (default: SIEM connector/Reader, Automation/Operator, Provisioning/Admin,
                                                Unassigned app/no role; [] = none)   SIM_CLIENT_APPS
              --verbose                         request log                            SIM_VERBOSE=1
            """;

        public static SimulatorOptions? Parse(string[] args, System.Collections.IDictionary env)
        {
            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? Env(string k) => env.Contains(k) ? env[k] as string : null;
            var flags = new[]
            {
                "profile", "seed", "port", "host", "cert-dir", "tenant-id", "client-id", "client-secret", "tenant-domain", "page-size", "directory-page-size",
                "sites-page-size", "members-per-page", "users", "groups", "sites", "items", "mutate-per-tick", "mutate-interval-seconds", "no-quirks", "faults",
                "fault-429", "fault-503", "fault-500", "fault-504", "fault-reset", "fault-batch-429", "fault-resync", "fault-sync-state", "retry-after",
                "retry-after-date-share", "latency-ms", "ru-budget", "verbose", "public-url", "requested-access-token-version", "ca-export-dir", "client-apps",
            };
            foreach (var f in flags)
            {
                var v = Env("SIM_" + f.ToUpperInvariant().Replace('-', '_'));
                if (!string.IsNullOrEmpty(v)) values[f] = v;
            }
            if (!values.ContainsKey("tenant-id") && Env("ENTRA_TENANT_ID") is { Length: > 0 } t) values["tenant-id"] = t;
            if (!values.ContainsKey("client-id") && Env("ENTRA_CLIENT_ID") is { Length: > 0 } c) values["client-id"] = c;
            if (!values.ContainsKey("client-secret") && Env("ENTRA_CLIENT_SECRET") is { Length: > 0 } s) values["client-secret"] = s;
            for (var i = 0; i < args.Length; i++)
            {
                var a = args[i];
                if (a is "--help" or "-h") { Console.WriteLine(Help); return null; }
                if (!a.StartsWith("--")) throw new ArgumentException($"unexpected argument '{a}'");
                var name = a[2..];
                string? val = null;
                var eq = name.IndexOf('=');
                if (eq >= 0) { val = name[(eq + 1)..]; name = name[..eq]; }
                if (!flags.Contains(name)) throw new ArgumentException($"unknown flag --{name}");
                if (name is "no-quirks" or "verbose") { values[name] = val ?? "1"; continue; }
                if (val is null)
                {
                    if (i + 1 >= args.Length) throw new ArgumentException($"--{name} needs a value");
                    val = args[++i];
                }
                values[name] = val;
            }

            int Int(string k, int d) => values.TryGetValue(k, out var v) ? int.TryParse(v, out var n) && n >= 0 ? n : throw new ArgumentException($"--{k} must be a non-negative integer") : d;
            int? IntN(string k) => values.ContainsKey(k) ? Int(k, 0) : null;
            double Dbl(string k, double d) => values.TryGetValue(k, out var v) ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw new ArgumentException($"--{k} must be a non-negative number") : d;
            bool Flag(string k) => values.TryGetValue(k, out var v) && v is "1" or "true" or "yes";

            var o = new SimulatorOptions
            {
                Profile = values.GetValueOrDefault("profile", "small"),
                Seed = Int("seed", 42),
                Port = Int("port", 5443),
                Host = values.GetValueOrDefault("host", "127.0.0.1"),
                CertDir = values.GetValueOrDefault("cert-dir", Path.Combine(".data", "sim")),
                PageSize = Math.Max(1, Int("page-size", 200)),
                DirectoryPageSize = Math.Max(1, Int("directory-page-size", 100)),
                SitesPageSize = Math.Max(1, Int("sites-page-size", 10)),
                MembersPerPage = Math.Max(1, Int("members-per-page", 500)),
                Users = IntN("users"), Groups = IntN("groups"), Sites = IntN("sites"), Items = IntN("items"),
                MutatePerTick = Int("mutate-per-tick", 0),
                MutateIntervalSeconds = Dbl("mutate-interval-seconds", 60),
                Quirks = !Flag("no-quirks"),
                Verbose = Flag("verbose"),
            };
            if (values.TryGetValue("ca-export-dir", out var caExport)) o.CaExportDir = caExport;
            if (values.TryGetValue("requested-access-token-version", out var atv))
                o.RequestedAccessTokenVersion = atv is "1" or "2" ? int.Parse(atv, CultureInfo.InvariantCulture) : throw new ArgumentException("--requested-access-token-version must be 1 or 2");
            if (values.TryGetValue("tenant-id", out var tid)) o.TenantId = tid;
            if (values.TryGetValue("client-id", out var cid)) o.ClientId = cid;
            if (values.TryGetValue("client-secret", out var sec)) o.ClientSecret = sec;
            if (values.TryGetValue("tenant-domain", out var dom)) o.TenantDomain = dom;
            if (values.TryGetValue("public-url", out var pub))
            {
                if (!Uri.TryCreate(pub, UriKind.Absolute, out var pubUri) || pubUri.Scheme != "https") throw new ArgumentException("--public-url must be an absolute https URL");
                o.PublicUrl = pub.TrimEnd('/');
            }
            _ = Generator.Size(o); // validates the profile
            if (values.TryGetValue("client-apps", out var appsJson))
            {
                var json = appsJson.StartsWith('@') ? File.ReadAllText(appsJson[1..]) : appsJson;
                try { o.ClientApps = JsonSerializer.Deserialize<List<ClientApp>>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web)) ?? []; }
                catch (JsonException e) { throw new ArgumentException($"--client-apps is not valid JSON: {e.Message}"); }
                if (ClientApp.Check(o.ClientApps, o.ClientId) is { } why) throw new ArgumentException("--client-apps: " + why);
            }

            FaultConfig? faults = null;
            if (values.TryGetValue("faults", out var fj))
            {
                var json = fj.StartsWith('@') ? File.ReadAllText(fj[1..]) : fj;
                try { faults = JsonSerializer.Deserialize<FaultConfig>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web)); }
                catch (JsonException e) { throw new ArgumentException($"--faults is not valid JSON: {e.Message}"); }
            }
            FaultConfig F() => faults ??= new FaultConfig();
            if (values.ContainsKey("fault-429")) F().Rate429 = Dbl("fault-429", 0);
            if (values.ContainsKey("fault-503")) F().Rate503 = Dbl("fault-503", 0);
            if (values.ContainsKey("fault-500")) F().Rate500 = Dbl("fault-500", 0);
            if (values.ContainsKey("fault-504")) F().Rate504 = Dbl("fault-504", 0);
            if (values.ContainsKey("fault-reset")) F().RateReset = Dbl("fault-reset", 0);
            if (values.ContainsKey("fault-batch-429")) F().RateBatchInner429 = Dbl("fault-batch-429", 0);
            if (values.ContainsKey("fault-resync")) F().RateDriveResync = Dbl("fault-resync", 0);
            if (values.ContainsKey("fault-sync-state")) F().RateDirectorySyncStateNotFound = Dbl("fault-sync-state", 0);
            if (values.ContainsKey("retry-after")) F().RetryAfterSeconds = Int("retry-after", 1);
            if (values.ContainsKey("retry-after-date-share")) F().RetryAfterHttpDateShare = Dbl("retry-after-date-share", 0);
            if (values.ContainsKey("ru-budget")) F().RuBudgetPerMinute = Int("ru-budget", 0);
            if (values.TryGetValue("latency-ms", out var lat))
            {
                var parts = lat.Split('-');
                if (!int.TryParse(parts[0], out var min) || (parts.Length > 1 && !int.TryParse(parts[1], out _))) throw new ArgumentException("--latency-ms must be MIN-MAX (ms)");
                F().LatencyMinMs = min;
                F().LatencyMaxMs = parts.Length > 1 ? int.Parse(parts[1]) : min + 1;
            }
            o.Faults = faults;
            return o;
        }
    }
}
