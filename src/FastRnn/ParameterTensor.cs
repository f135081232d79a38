namespace FastRnn;

/// <summary>How a named tensor is stored inside a model's parameter arena.</summary>
public enum TensorStorage
{
    /// <summary>Row-major, exactly as PyTorch stores it (the embedding table).</summary>
    Plain = 0,

    /// <summary>A PyTorch <c>(gates·units, inputs)</c> weight held in the gate-interleaved layout.</summary>
    InterleavedWeight = 1,

    /// <summary>A PyTorch <c>(gates·units)</c> bias held as <c>[block][gate][16]</c>.</summary>
    InterleavedBias = 2,

    /// <summary>A PyTorch <c>(inputs, gates·units)</c> tensor held as <c>inputs</c> consecutive rows laid out like
    /// <see cref="InterleavedBias"/> (per-time-step batch-normalization statistics: one row per step).</summary>
    InterleavedRows = 3,
}

/// <summary>What a tensor is for: the parameter groups penalties, constraints and initializers address.</summary>
public enum ParameterRole
{
    Embedding = 0,
    InputKernel = 1,
    RecurrentKernel = 2,
    InputBias = 3,
    RecurrentBias = 4,
    HeadKernel = 5,
    HeadBias = 6,
    /// <summary>The gain γ of a layer-normalized cell's normalization (initialized to 1).</summary>
    NormGain = 7,
    /// <summary>The bias β of a layer-normalized cell's normalization of c (initialized to 0); the normalizations of
    /// W·x and U·h use the layer's bias_ih and bias_hh as their β.</summary>
    NormBias = 8,
    /// <summary>A batch normalization's running mean (a statistic, not a parameter: <see cref="IRnnModel.Statistics"/>).</summary>
    RunningMean = 9,
    /// <summary>A batch normalization's running (unbiased) variance, a statistic like <see cref="RunningMean"/>.</summary>
    RunningVariance = 10,
}

/// <summary>
/// One named parameter tensor of a model: its PyTorch name and shape, and where it lives in the arena. The
/// gradient arena has the same layout, so the same descriptor reads a gradient.
/// </summary>
public sealed class ParameterTensor
{
    public ParameterTensor(string name, ParameterRole role, int layer, TensorStorage storage, int offset, int units, int gates, int inputs)
    {
        Name = name;
        Role = role;
        Layer = layer;
        Storage = storage;
        Offset = offset;
        Units = units;
        Gates = gates;
        Inputs = inputs;
        Shape = new InterleavedShape(inputs, gates, Block.Pad(units) / Block.Width);
    }

    /// <summary>The PyTorch state-dict name, e.g. <c>rnn.weight_hh_l0</c>.</summary>
    public string Name { get; }
    public ParameterRole Role { get; }

    /// <summary>The recurrent layer (0 = nearest the input) the tensor belongs to; −1 for the embedding and head.</summary>
    public int Layer { get; }
    public TensorStorage Storage { get; }

    /// <summary>Offset of the tensor's storage in the arena.</summary>
    public int Offset { get; }

    /// <summary>Real (unpadded) units per gate; for a plain tensor, its rows.</summary>
    public int Units { get; }
    public int Gates { get; }

    /// <summary>Inputs per unit; for a plain tensor, its columns; 1 for a bias.</summary>
    public int Inputs { get; }

    /// <summary>The interleaved shape the storage follows (meaningless for a plain tensor).</summary>
    public InterleavedShape Shape { get; }

    /// <summary>The PyTorch shape: <c>(gates·units, inputs)</c> for a weight, <c>(gates·units)</c> for a bias.</summary>
    public int[] PyTorchShape => Storage switch
    {
        TensorStorage.InterleavedBias => [Gates * Units],
        TensorStorage.InterleavedRows => [Inputs, Gates * Units],
        _ => [Gates * Units, Inputs],
    };

    /// <summary>Elements in PyTorch's layout.</summary>
    public int Count => Gates * Units * Inputs;

    /// <summary>Floats the tensor occupies in the arena, padding included.</summary>
    public int StorageLength => Storage switch
    {
        TensorStorage.Plain => Units * Inputs,
        TensorStorage.InterleavedWeight => Shape.Length,
        TensorStorage.InterleavedRows => Inputs * Shape.RowLength,
        _ => Shape.RowLength,
    };

    /// <summary>Arena offset of PyTorch element <paramref name="index"/> (row-major in <see cref="PyTorchShape"/>).</summary>
    public int ArenaIndexOf(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"Tensor '{Name}' has {Count} elements; index {index} is outside.");
        switch (Storage)
        {
            case TensorStorage.Plain:
                return Offset + index;
            case TensorStorage.InterleavedBias:
                return Offset + Shape.RowIndexOf(index % Units, index / Units);
            case TensorStorage.InterleavedRows:
                int step = index / (Gates * Units), within = index % (Gates * Units);
                return Offset + step * Shape.RowLength + Shape.RowIndexOf(within % Units, within / Units);
            default:
                int row = index / Inputs, input = index % Inputs;
                return Offset + Shape.IndexOf(row % Units, row / Units, input);
        }
    }

    /// <summary>Copies the tensor out of an arena into PyTorch's layout.</summary>
    public void Export(ReadOnlySpan<float> arena, Span<float> destination)
    {
        CheckLength(destination.Length);
        if (Storage == TensorStorage.Plain)
        {
            arena.Slice(Offset, Count).CopyTo(destination);
            return;
        }
        for (int i = 0; i < Count; i++)
            destination[i] = arena[ArenaIndexOf(i)];
    }

    /// <summary>Copies a tensor in PyTorch's layout into an arena; padding is left untouched (zero).</summary>
    public void Import(ReadOnlySpan<float> source, Span<float> arena)
    {
        CheckLength(source.Length);
        if (Storage == TensorStorage.Plain)
        {
            source.CopyTo(arena.Slice(Offset, Count));
            return;
        }
        for (int i = 0; i < Count; i++)
            arena[ArenaIndexOf(i)] = source[i];
    }

    private void CheckLength(int length)
    {
        if (length != Count)
            throw new ArgumentException(
                $"Tensor '{Name}' of shape ({string.Join(", ", PyTorchShape)}) has {Count} elements; the buffer has {length}.");
    }

    public override string ToString() => $"{Name} ({string.Join(", ", PyTorchShape)})";
}
