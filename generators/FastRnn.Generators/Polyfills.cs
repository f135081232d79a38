namespace System.Runtime.CompilerServices
{
    // Records and init-only setters on netstandard2.0.
    internal static class IsExternalInit
    {
    }
}

namespace System.Runtime.CompilerServices
{
    // Interpolated string handlers on netstandard2.0 (the compiler looks for the attribute by name).
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, AllowMultiple = false, Inherited = false)]
    internal sealed class InterpolatedStringHandlerAttribute : Attribute
    {
    }
}
