namespace FastRnn.Generators;

/// <summary>Who holds a buffer: the model (one per instance) or a streaming <c>State</c> (one per stream).</summary>
internal enum BufferOwner
{
    Model,
    State,
}

/// <summary>How a model buffer is sized: by constants alone (allocated where it is declared) or by the capacities the
/// constructor takes (<c>rows</c> = batchCapacity × sequenceCapacity, <c>batchCapacity</c>, <c>sequenceCapacity</c>).
/// A state's buffers are all sized by its <c>batch</c>.</summary>
internal enum BufferSizing
{
    Constant,
    Capacity,
}

/// <summary>What a shard (a model of some of the batch's rows that runs an inference <c>Forward</c> for its parent on
/// one of the pool's threads) holds of a model buffer: its own, the parent's (the arenas it reads; a mask site's value,
/// copied at each Forward), or an empty one (a buffer only backward uses: a shard runs no backward).</summary>
internal enum BufferInShard
{
    Own,
    Parents,
    Empty,
}

/// <summary>One entry of a model's buffer plan: a field of the generated model or of its <c>State</c>, with the
/// expression of its length (null for a field that is not an array, such as a mask site) and the comment that says what
/// it holds. The fields, the constructors' allocations and their initial fills are all generated from the plan, so a
/// buffer cannot be declared under one condition and sized under another.</summary>
internal sealed record Buffer(
    string Name,
    BufferOwner Owner,
    string? Length,
    string Comment,
    BufferSizing Sizing = BufferSizing.Capacity,
    string ElementType = "float",
    string? FieldType = null,
    bool Mutable = false,
    string? Fill = null,
    bool Aligned = false,
    BufferInShard InShard = BufferInShard.Own)
{
    /// <summary>Whether the field is an <c>AlignedArray</c> (floats on a cache line; only model buffers are, and none
    /// of them has a fill).</summary>
    private bool OnCacheLine => Aligned && ElementType == "float";

    private const string AlignedType = "global::FastRnn.Kernels.AlignedArray<float>";

    /// <summary>The field's declared type (floats on a cache line: <c>AlignedArray</c>, which reads as a span).</summary>
    public string Type => FieldType ?? (OnCacheLine ? AlignedType : ElementType + "[]");

    /// <summary>The allocation expression, or null for a field that is not allocated.</summary>
    public string? Allocation => Length is null ? null : OnCacheLine ? $"new {AlignedType}({Length})" : $"new {ElementType}[{Length}]";

    /// <summary>Whether the constructor allocates the field (sized by capacity; in a model with <paramref name="shards"/>
    /// also one a shard does not own) rather than its declaration.</summary>
    public bool AllocatedByConstructor(bool shards) =>
        Allocation is not null && (Sizing == BufferSizing.Capacity || (shards && InShard != BufferInShard.Own));

    /// <summary>The constructor's assignment: a shard (<c>parent</c> not null) takes the parent's buffer or an empty one.</summary>
    public string ModelAssignment => InShard switch
    {
        BufferInShard.Parents => $"{Name} = parent?.{Name} ?? {Allocation};",
        BufferInShard.Empty => $"{Name} = parent is null ? {Allocation} : {(OnCacheLine ? $"new {AlignedType}(0)" : $"global::System.Array.Empty<{ElementType}>()")};",
        _ => $"{Name} = {Allocation};",
    };
}
