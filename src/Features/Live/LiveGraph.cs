using System.Text.Json;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Serialization;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Live;

/// <summary>
/// Live app-only reads through the Microsoft.Graph SDK (typed models; <see cref="PageIterator{TEntity,TCollectionPage}"/>
/// for collections, so a paged list is read in full). The SDK's HttpClient runs the product's resilience pipeline and
/// draws from the tenant RU budget (GraphClientFactory). Never persisted.
/// </summary>
internal static class LiveGraph
{
    /// <summary>Runs one SDK call and maps its failures to a <see cref="LiveGraphException"/> safe to show inline.</summary>
    public static async Task<T> CallAsync<T>(Func<Task<T?>> call) where T : class
    {
        try
        {
            return await call() ?? throw new LiveGraphException(502, "graph_error", "Graph answered with an empty body");
        }
        catch (ODataError e) when (e.ResponseStatusCode == 404)
        {
            throw new LiveGraphException(404, "not_found", "Graph says this object no longer exists (404)");
        }
        catch (ApiException e)
        {
            var code = (e as ODataError)?.Error?.Code;
            throw new LiveGraphException(502, code ?? "graph_error", $"Graph answered HTTP {e.ResponseStatusCode} ({code ?? "no error code"})");
        }
        catch (JobFailedException e)
        {
            throw new LiveGraphException(502, e.Code, e.Message);
        }
        catch (HttpRequestException)
        {
            throw new LiveGraphException(502, "graph_unreachable", "Microsoft Graph (GRAPH_BASE_URL) could not be reached");
        }
    }

    /// <summary>Every permission of a collection, following @odata.nextLink with the SDK's page iterator.</summary>
    public static async Task<List<Permission>> AllAsync(GraphServiceClient client, PermissionCollectionResponse first, CancellationToken ct)
    {
        var all = new List<Permission>();
        var iterator = PageIterator<Permission, PermissionCollectionResponse>.CreatePageIterator(client, first, p =>
        {
            all.Add(p);
            return true;
        });
        await CallAsync<object>(async () =>
        {
            await iterator.IterateAsync(ct);
            return all;
        });
        return all;
    }

    /// <summary>A typed model as Graph JSON again, for rules written against the wire format (one grant rule for ingestion and live).</summary>
    public static async Task<JsonDocument> ToJsonAsync<T>(T model) where T : IParsable =>
        JsonDocument.Parse(await KiotaJsonSerializer.SerializeAsStringAsync(model, serializeOnlyChangedValues: false));
}
