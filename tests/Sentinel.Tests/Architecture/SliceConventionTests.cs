using System.Reflection;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.Architecture;

public sealed class SliceConventionTests
{
    private static readonly Type[] FeatureTypes = typeof(Db).Assembly.GetTypes();

    private static bool Implements(Type t, Type openGeneric) =>
        t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == openGeneric);

    [Fact]
    public void Handlers_are_not_public()
    {
        var publicHandlers = FeatureTypes
            .Where(t => !t.IsAbstract && Implements(t, typeof(IRequestHandler<,>)) && (t.IsPublic || t.IsNestedPublic))
            .Select(t => t.FullName)
            .ToList();
        Assert.Empty(publicHandlers);
    }

    [Fact]
    public void Requests_are_immutable()
    {
        var mutable = FeatureTypes
            .Where(t => !t.IsAbstract && Implements(t, typeof(IRequest<>)))
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod is { IsPublic: true } set &&
                            !set.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(System.Runtime.CompilerServices.IsExternalInit)))
                .Select(p => $"{t.FullName}.{p.Name}"))
            .ToList();
        Assert.Empty(mutable);
    }

    [Fact]
    public void Every_request_lives_in_a_slice_class_named_after_its_capability()
    {
        var loose = FeatureTypes
            .Where(t => !t.IsAbstract && Implements(t, typeof(IRequest<>)) && t.DeclaringType is null)
            .Select(t => t.FullName)
            .ToList();
        Assert.Empty(loose);
    }
}
