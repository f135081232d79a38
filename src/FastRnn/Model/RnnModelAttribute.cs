namespace FastRnn;

/// <summary>Marks a <c>partial</c> class as a FastRnn model: the generator emits its parameters, step,
/// sequence forward, backward through time and the glue an optimizer needs. The other attributes on the
/// class declare, in order, the input, the recurrent layers, the head and the loss.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RnnModelAttribute : Attribute
{
}
