using System.ComponentModel;
using System.Numerics.Tensors;

namespace FastRnn.Kernels;

/// <summary>The value of a model's L1/L2 penalties (Keras semantics; see <see cref="PenaltyAttribute"/>).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Penalties
{
    /// <summary>Σ over tensors of l1·Σ|w| + l2·Σw² with the coefficients <see cref="IRnnModel.PenaltyOf"/> gives, in
    /// double. Reads only the penalized tensors (their arena padding is zero and adds nothing).</summary>
    public static double Value(IRnnModel model)
    {
        ReadOnlySpan<float> arena = model.Parameters;
        var tensors = model.Tensors;
        double total = 0;
        for (int t = 0; t < tensors.Count; t++) // indexed: a foreach over the interface would allocate its enumerator
        {
            var tensor = tensors[t];
            var (l1, l2) = model.PenaltyOf(tensor.Role);
            if (l1 == 0f && l2 == 0f)
                continue;
            var w = arena.Slice(tensor.Offset, tensor.StorageLength);
            if (l1 != 0f)
                total += l1 * (double)TensorPrimitives.SumOfMagnitudes(w);
            if (l2 != 0f)
                total += l2 * (double)TensorPrimitives.SumOfSquares(w);
        }
        return total;
    }
}
