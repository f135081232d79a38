namespace FastRnn;

/// <summary>Dense input: every time step carries <paramref name="features"/> floats per row.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class DenseInputAttribute(int features) : Attribute
{
    public int Features { get; } = features;
}
