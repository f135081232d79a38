using System.ComponentModel;
using FastRnn.Kernels;

namespace FastRnn;

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
    [EditorBrowsable(EditorBrowsableState.Never)]
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
