namespace FastRnn;

/// <summary>Parameter initialization schemes. Every draw is keyed by (seed, tensor index, element), so the result
/// does not depend on the vector width or the order tensors are visited in.</summary>
public static class Initializers
{
    /// <summary>PyTorch's defaults: <c>U(−1/√H, 1/√H)</c> for every LSTM/GRU weight and bias, <c>nn.Linear</c>'s
    /// <c>U(−1/√fan_in, 1/√fan_in)</c> for the head, <c>N(0, 1)</c> for an embedding.</summary>
    public static void PyTorchDefault(IRnnModel model, ulong seed)
    {
        var tensors = model.Tensors;
        Span<float> arena = model.Parameters;
        arena.Clear();
        for (int t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            var values = new float[tensor.Count];
            if (tensor.Role == ParameterRole.Embedding)
            {
                for (int i = 0; i < values.Length; i++)
                    values[i] = CounterRandom.Normal(seed, (ulong)t, (ulong)i);
            }
            else
            {
                int fanIn = tensor.Role switch
                {
                    ParameterRole.HeadKernel or ParameterRole.HeadBias => HeadInputs(tensors),
                    _ => tensor.Units,
                };
                float bound = 1f / MathF.Sqrt(fanIn);
                for (int i = 0; i < values.Length; i++)
                    values[i] = bound * (2f * CounterRandom.Uniform(seed, (ulong)t, (ulong)i) - 1f);
            }
            tensor.Import(values, arena);
        }
    }

    private static int HeadInputs(IReadOnlyList<ParameterTensor> tensors)
    {
        foreach (var tensor in tensors)
            if (tensor.Role == ParameterRole.HeadKernel)
                return tensor.Inputs;
        throw new InvalidOperationException("The model has no head kernel.");
    }
}
