using System.Reflection;
using System.Reflection.Emit;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.Architecture;

/// <summary>
/// Dependencies point one way: Graph and Infrastructure are machinery every area uses, so they never depend on the
/// scheduling slices (Jobs, Schedules, Runs) or on the execution engine. Checked by reflection over the Features
/// assembly: signatures, fields, base types, attributes and every type, method or field a method body refers to.
/// </summary>
public sealed class NamespaceDependencyTests
{
    private static readonly Assembly Features = typeof(Db).Assembly;

    private static readonly string[] Neutral = ["Sentinel.Features.Graph", "Sentinel.Features.Infrastructure"];

    private static readonly string[] SchedulingAreas =
        ["Sentinel.Features.Execution", "Sentinel.Features.Jobs", "Sentinel.Features.Schedules", "Sentinel.Features.Runs"];

    [Fact]
    public void Graph_and_Infrastructure_never_depend_on_execution_jobs_schedules_or_runs()
    {
        var violations = Features.GetTypes()
            .Where(t => InAny(t, Neutral))
            .SelectMany(t => DependenciesOf(t).Where(d => InAny(d, SchedulingAreas)).Select(d => $"{t.FullName} -> {d.FullName}"))
            .Distinct()
            .Order()
            .ToList();
        Assert.Empty(violations);
    }

    [Fact]
    public void The_scan_sees_signatures_and_method_bodies()
    {
        // Guards the test above: an executor names IJobExecutor in its signature, and the claim step calls JobTypes
        // only inside a method body. If the scan missed either kind, the rule above would prove nothing.
        var executor = Features.GetType("Sentinel.Features.Views.RefreshMvExecutor", throwOnError: true)!;
        Assert.Contains(DependenciesOf(executor), d => d.FullName == "Sentinel.Features.Execution.IJobExecutor");
        var claim = Features.GetType("Sentinel.Features.Execution.ClaimNextRun", throwOnError: true)!;
        Assert.Contains(Features.GetTypes().Where(t => t == claim || IsNestedIn(t, claim)).SelectMany(DependenciesOf),
            d => d.FullName == "Sentinel.Features.Jobs.JobTypes");
    }

    private static bool InAny(Type type, string[] namespaces) =>
        type.Namespace is { } ns && namespaces.Any(n => ns == n || ns.StartsWith(n + ".", StringComparison.Ordinal));

    private static bool IsNestedIn(Type type, Type outer)
    {
        for (var t = type.DeclaringType; t is not null; t = t.DeclaringType)
            if (t == outer) return true;
        return false;
    }

    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every type <paramref name="type"/> names, with generic arguments, array elements and so on unwrapped.</summary>
    private static HashSet<Type> DependenciesOf(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || t.IsGenericParameter) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (!found.Add(t)) return;
            if (t.IsGenericType)
                foreach (var a in t.GetGenericArguments()) Add(a);
        }
        void AddAttributes(IEnumerable<CustomAttributeData> attributes)
        {
            foreach (var a in attributes)
            {
                Add(a.AttributeType);
                foreach (var arg in a.ConstructorArguments.Concat(a.NamedArguments.Select(n => n.TypedValue)))
                    if (arg.Value is Type typeArg) Add(typeArg);
            }
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        AddAttributes(type.CustomAttributes);
        foreach (var f in type.GetFields(Declared)) { Add(f.FieldType); AddAttributes(f.CustomAttributes); }
        foreach (var p in type.GetProperties(Declared)) { Add(p.PropertyType); AddAttributes(p.CustomAttributes); }
        foreach (var e in type.GetEvents(Declared)) Add(e.EventHandlerType);
        foreach (var m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            AddAttributes(m.CustomAttributes);
            if (m is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            foreach (var referenced in BodyReferences(m)) Add(referenced);
        }
        return found;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types a method body refers to: locals, and the operands of type, method, field and token instructions.</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body is null) yield break;
        foreach (var local in body.LocalVariables) yield return local.LocalType;
        var il = body.GetILAsByteArray() ?? [];
        var module = method.Module;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var code = il[i] == 0xFE ? OpCodesByValue[(short)(0xFE00 | il[i + 1])] : OpCodesByValue[il[i]];
            i += code.Size;
            switch (code.OperandType)
            {
                case OperandType.InlineType:
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineTok:
                    var member = module.ResolveMember(BitConverter.ToInt32(il, i), typeArgs, methodArgs);
                    switch (member)
                    {
                        case Type t: yield return t; break;
                        case FieldInfo f: yield return f.DeclaringType!; yield return f.FieldType; break;
                        case MethodBase m:
                            if (m.DeclaringType is { } owner) yield return owner;
                            if (m is MethodInfo { IsGenericMethod: true } g) foreach (var a in g.GetGenericArguments()) yield return a;
                            if (m is MethodInfo r) yield return r.ReturnType;
                            foreach (var p in m.GetParameters()) yield return p.ParameterType;
                            break;
                    }
                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    i += 8;
                    break;
                default: // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR
                    i += 4;
                    break;
            }
        }
    }
}
