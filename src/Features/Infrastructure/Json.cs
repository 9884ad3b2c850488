using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sentinel.Features.Infrastructure;

public static class Json
{
    /// <summary>snake_case on the wire and in jsonb, as the worker API and the tables use.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
