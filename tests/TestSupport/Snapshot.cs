using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sentinel.Features.Infrastructure;

namespace Sentinel.TestSupport;

/// <summary>
/// Verify-style snapshots: the value is serialised to indented JSON, GUIDs and timestamps are scrubbed into
/// stable placeholders numbered by first appearance (Guid_1, DateTime_1), and the text is compared with
/// the checked-in <c>{Class}.{Test}.verified.json</c> beside the test. A mismatch writes
/// <c>.received.json</c> and fails; SNAPSHOT_ACCEPT=1 accepts the received text instead.
/// <c>keepDates</c>: where every timestamp in the value comes from the injected test clock (or fixed data),
/// the dates stay in the snapshot, so a wrong date is a visible diff rather than a placeholder.
/// </summary>
public static partial class Snapshot
{
    private static readonly JsonSerializerOptions Options = new(Json.Options)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Match(object? value, string? name = null, bool keepDates = false,
        [CallerFilePath] string sourceFile = "", [CallerMemberName] string member = "")
    {
        var text = Scrub(JsonSerializer.Serialize(value, Options), keepDates).ReplaceLineEndings("\n") + "\n";
        var dir = Path.GetDirectoryName(sourceFile)!;
        var stem = $"{Path.GetFileNameWithoutExtension(sourceFile)}.{name ?? member}";
        var verified = Path.Combine(dir, stem + ".verified.json");
        var received = Path.Combine(dir, stem + ".received.json");

        var expected = File.Exists(verified) ? File.ReadAllText(verified).ReplaceLineEndings("\n") : null;
        if (expected == text)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        if (Environment.GetEnvironmentVariable("SNAPSHOT_ACCEPT") == "1")
        {
            File.WriteAllText(verified, text);
            return;
        }
        File.WriteAllText(received, text);
        Assert.Fail(expected is null
            ? $"No verified snapshot yet: review {received} and rename it to {Path.GetFileName(verified)} (or run with SNAPSHOT_ACCEPT=1)."
            : $"Snapshot differs from {Path.GetFileName(verified)}; received written to {received}.\n--- verified\n{expected}\n--- received\n{text}");
    }

    public static string Scrub(string text, bool keepDates = false)
    {
        var guids = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        text = GuidPattern().Replace(text, m =>
            guids.TryGetValue(m.Value, out var v) ? v : guids[m.Value] = $"Guid_{guids.Count + 1}");
        if (keepDates) return text;
        var dates = new Dictionary<string, string>();
        text = DatePattern().Replace(text, m =>
            dates.TryGetValue(m.Value, out var v) ? v : dates[m.Value] = $"DateTime_{dates.Count + 1}");
        return text;
    }

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")]
    private static partial Regex GuidPattern();

    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")]
    private static partial Regex DatePattern();
}
