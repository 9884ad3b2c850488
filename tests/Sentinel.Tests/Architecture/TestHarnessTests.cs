using System.Reflection;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Architecture;

/// <summary>The test harness builds on SliceFixture by overriding its hooks, never by hiding its members.</summary>
public sealed class TestHarnessTests
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    [Fact]
    public void No_test_type_hides_a_member_of_its_base_with_new()
    {
        var hidden = new[] { typeof(SliceFixture).Assembly, typeof(TestHarnessTests).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsClass && t.BaseType is { } b && b != typeof(object) && t.DeclaringType != typeof(TestHarnessTests)
                        && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .SelectMany(t => t.GetMembers(Declared).Where(m => Hides(t.BaseType!, m)).Select(m => $"{t.FullName}.{m.Name}"))
            .ToList();
        Assert.Empty(hidden);
    }

    [Fact]
    public void The_check_sees_a_hidden_member()
    {
        // Guard: without this, an empty list above could mean the check never matches anything.
        Assert.Contains(typeof(Hiding).GetMembers(Declared), m => Hides(typeof(Hiding).BaseType!, m));
    }

    private const BindingFlags Inherited = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.FlattenHierarchy;

    /// <summary>A member that is not an override but has the name (and, for methods, the parameters) of a visible base member.</summary>
    private static bool Hides(Type baseType, MemberInfo member) => member switch
    {
        MethodInfo m when !m.IsSpecialName && !m.IsPrivate && m.GetBaseDefinition() == m =>
            baseType.GetMethod(m.Name, Inherited, m.GetParameters().Select(p => p.ParameterType).ToArray()) is { IsPrivate: false },
        PropertyInfo p when (p.GetMethod ?? p.SetMethod) is { IsPrivate: false } accessor && accessor.GetBaseDefinition() == accessor =>
            baseType.GetProperty(p.Name, Inherited) is { } hidden && (hidden.GetMethod ?? hidden.SetMethod) is { IsPrivate: false },
        _ => false,
    };

    private class Base
    {
        public int Value => 1;
    }

    private sealed class Hiding : Base
    {
        public new int Value => 2;
    }
}
