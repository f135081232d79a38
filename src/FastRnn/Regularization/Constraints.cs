using System.ComponentModel;

namespace FastRnn.Kernels;

/// <summary>Applies <see cref="WeightConstraint"/>s to tensors in a parameter arena, with the constants of
/// keras/src/constraints/constraints.py (ε = <c>backend.epsilon()</c> = 1e-7).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Constraints
{
    /// <summary>Keras' <c>backend.epsilon()</c>.</summary>
    public const float Epsilon = 1e-7f;

    /// <summary>True when the constraint can be applied one block of 16 units at a time (a kernel's per-unit norm, or
    /// non-negativity), so an optimizer can fuse it with its update of that block.</summary>
    public static bool IsBlockLocal(ParameterTensor tensor, WeightConstraint constraint) =>
        constraint.Kind == ConstraintKind.NonNegative ||
        (tensor.Storage == TensorStorage.InterleavedWeight && constraint.Axis == 0);

    /// <summary>The arena floats of one block of an interleaved kernel: [input][gate][16].</summary>
    public static int BlockLength(ParameterTensor tensor) => tensor.Inputs * tensor.Gates * Block.Width;

    /// <summary>Applies a block-local constraint (see <see cref="IsBlockLocal"/>) to block <paramref name="block"/> of
    /// <paramref name="tensor"/>: a kernel's block holds every incoming weight of its 16 units, so each unit's norm
    /// is complete inside it.</summary>
    public static void ApplyBlock(Span<float> arena, ParameterTensor tensor, WeightConstraint constraint, int block)
    {
        if (constraint.Kind == ConstraintKind.NonNegative)
        {
            int length = tensor.Storage == TensorStorage.InterleavedWeight ? BlockLength(tensor) : tensor.StorageLength;
            var values = arena.Slice(tensor.Offset + block * length, length);
            System.Numerics.Tensors.TensorPrimitives.Max(values, 0f, values);
            return;
        }
        int gates = tensor.Gates, inputs = tensor.Inputs, w = Block.Width;
        var slab = arena.Slice(tensor.Offset + block * BlockLength(tensor), BlockLength(tensor));
        Span<float> squares = stackalloc float[gates * w];
        squares.Clear();
        for (int k = 0; k < inputs; k++)
        {
            var row = slab.Slice(k * gates * w, gates * w);
            for (int i = 0; i < row.Length; i++)
                squares[i] += row[i] * row[i];
        }
        for (int i = 0; i < squares.Length; i++)
            squares[i] = Factor(constraint, MathF.Sqrt(squares[i]));
        for (int k = 0; k < inputs; k++)
            System.Numerics.Tensors.TensorPrimitives.Multiply(slab.Slice(k * gates * w, gates * w), squares, slab.Slice(k * gates * w, gates * w));
    }

    /// <summary>Doubles of scratch <see cref="Apply"/> needs for <paramref name="tensor"/> (one per norm group).</summary>
    public static int ScratchLength(ParameterTensor tensor) => Math.Max(tensor.Inputs, tensor.Gates * tensor.Units);

    /// <summary>Applies the constraint to the whole tensor (any storage and axis), in PyTorch's element order, with
    /// <paramref name="scratch"/> of <see cref="ScratchLength"/> doubles (nothing is allocated).</summary>
    public static void Apply(Span<float> arena, ParameterTensor tensor, WeightConstraint constraint, Span<double> scratch)
    {
        if (constraint.Kind == ConstraintKind.None)
            return;
        if (IsBlockLocal(tensor, constraint))
        {
            int blocks = tensor.Storage == TensorStorage.InterleavedWeight ? tensor.Shape.Blocks : 1;
            for (int b = 0; b < blocks; b++)
                ApplyBlock(arena, tensor, constraint, b);
            return;
        }
        // Groups of the norm in PyTorch's [rows, columns] view: a bias is one group; a kernel's Keras axis 1 groups by
        // PyTorch column (input); an embedding's axis 0 by column, axis 1 by row (token).
        int rows = tensor.Gates * tensor.Units, columns = tensor.Inputs;
        int mode = tensor.Storage == TensorStorage.InterleavedBias ? 0
            : tensor.Storage == TensorStorage.InterleavedWeight || constraint.Axis == 0 ? 1 : 2;
        var squares = scratch.Slice(0, mode == 0 ? 1 : mode == 1 ? columns : rows);
        squares.Clear();
        for (int i = 0; i < tensor.Count; i++)
        {
            float v = arena[tensor.ArenaIndexOf(i)];
            squares[Group(mode, i, columns)] += (double)v * v;
        }
        for (int g = 0; g < squares.Length; g++)
            squares[g] = Factor(constraint, (float)Math.Sqrt(squares[g]));
        for (int i = 0; i < tensor.Count; i++)
            arena[tensor.ArenaIndexOf(i)] *= (float)squares[Group(mode, i, columns)];
    }

    private static int Group(int mode, int index, int columns) => mode switch
    {
        0 => 0,
        1 => index % columns,
        _ => index / columns,
    };

    /// <summary>The factor a group of norm <paramref name="norm"/> is scaled by.</summary>
    public static float Factor(WeightConstraint c, float norm) => c.Kind switch
    {
        ConstraintKind.MaxNorm => Math.Clamp(norm, 0f, c.Max) / (Epsilon + norm),
        ConstraintKind.UnitNorm => 1f / (Epsilon + norm),
        ConstraintKind.MinMaxNorm => (c.Rate * Math.Clamp(norm, c.Min, c.Max) + (1 - c.Rate) * norm) / (Epsilon + norm),
        _ => 1f,
    };
}
