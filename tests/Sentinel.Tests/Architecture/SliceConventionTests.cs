using System.Reflection;
using FluentValidation;
using FluentValidation.Internal;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.TestSupport;

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

    private static IEnumerable<Type> Requests => FeatureTypes.Where(t => !t.IsAbstract && Implements(t, typeof(IRequest<>)));

    [Fact]
    public void Every_request_has_a_validator_with_rules_or_the_no_input_marker_never_both()
    {
        // Resolved as the pipeline resolves them (no database is opened: validators take none).
        using var services = SliceFixture.BuildProvider("Host=127.0.0.1;Database=unused", HostRole.Worker, TimeProvider.System);
        using var scope = services.CreateScope();
        var problems = new List<string>();
        foreach (var request in Requests)
        {
            var validators = scope.ServiceProvider.GetServices(typeof(IValidator<>).MakeGenericType(request)).Cast<IValidator>().ToList();
            var marked = typeof(INoInput).IsAssignableFrom(request);
            if (marked && validators.Count > 0) problems.Add($"{request.FullName}: marked {nameof(INoInput)} but has a validator");
            if (!marked && validators.Count == 0) problems.Add($"{request.FullName}: no validator and no {nameof(INoInput)} marker");
            problems.AddRange(validators.Where(v => !((IEnumerable<IValidationRule>)v).Any()).Select(v => $"{v.GetType().FullName}: a validator without rules"));
        }
        Assert.Empty(problems);
        Assert.Contains(Requests, r => typeof(INoInput).IsAssignableFrom(r)); // the rule above saw both kinds
    }

    [Fact]
    public void Every_job_type_has_config_rules()
    {
        foreach (var jobType in JobTypes.All)
        {
            var validator = JobConfigRules.ValidatorFor(jobType);
            Assert.True(validator is not null, $"{jobType} has no JobConfigValidator");
            Assert.NotEmpty((IEnumerable<IValidationRule>)validator!);
        }
    }

    [Fact]
    public void Validators_are_not_public()
    {
        var publicValidators = FeatureTypes
            .Where(t => Implements(t, typeof(IValidator<>)) && (t.IsPublic || t.IsNestedPublic))
            .Select(t => t.FullName)
            .ToList();
        Assert.Empty(publicValidators);
    }

    [Fact]
    public void Requests_are_records()
    {
        var notRecords = Requests.Where(t => t.GetMethod("<Clone>$") is null).Select(t => t.FullName).ToList();
        Assert.Empty(notRecords);
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
