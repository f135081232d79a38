using FastRnn.Kernels;

namespace FastRnn;

/// <summary>Parameter initialization schemes. Every draw is keyed by (seed, tensor index, element), so the result
/// does not depend on the vector width or the order tensors are visited in.</summary>
public static class Initializers
{
    /// <summary>PyTorch's defaults: <c>U(−1/√H, 1/√H)</c> for every LSTM/GRU weight and bias, <c>nn.Linear</c>'s
    /// <c>U(−1/√fan_in, 1/√fan_in)</c> for the head, <c>N(0, 1)</c> for an embedding, and <c>nn.LayerNorm</c>'s
    /// γ = 1, β = 0 for a layer-normalized cell's gains and its cell normalization's bias.</summary>
    public static void PyTorchDefault(IRnnModel model, ulong seed)
    {
        var tensors = model.Tensors;
        Span<float> arena = model.Parameters;
        arena.Clear();
        for (int t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            var values = new float[tensor.Count];
            if (tensor.Role is ParameterRole.NormGain or ParameterRole.NormBias)
                values.AsSpan().Fill(tensor.Role == ParameterRole.NormGain ? 1f : 0f);
            else if (tensor.Role == ParameterRole.Embedding)
            {
                for (int i = 0; i < values.Length; i++)
                    values[i] = CounterRandom.Normal(seed, (ulong)t, (ulong)i);
            }
            else
            {
                int fanIn = tensor.Role switch
                {
                    ParameterRole.HeadKernel or ParameterRole.HeadBias => HeadInputs(tensors),
                    ParameterRole.ProjectionKernel => tensor.Inputs, // [Projection, Hidden]: PyTorch's bound is 1/√Hidden
                    _ => tensor.Units,
                };
                float bound = 1f / MathF.Sqrt(fanIn);
                for (int i = 0; i < values.Length; i++)
                    values[i] = bound * (2f * CounterRandom.Uniform(seed, (ulong)t, (ulong)i) - 1f);
            }
            tensor.Import(values, arena);
        }
    }

    /// <summary>Every weight and bias drawn from U(−<paramref name="bound"/>, <paramref name="bound"/>), embeddings
    /// included, as Zaremba et al. (2014) initialize their language models (0.1 for the small model, 0.05 for the
    /// medium one). Normalization gains and biases keep their γ = 1, β = 0; statistics are not parameters.</summary>
    public static void Uniform(IRnnModel model, float bound, ulong seed)
    {
        if (!(bound > 0 && float.IsFinite(bound)))
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "The bound must be a positive finite number.");
        var tensors = model.Tensors;
        for (int t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            if (tensor.Role is ParameterRole.NormGain or ParameterRole.NormBias)
                continue;
            var values = new float[tensor.Count];
            // A stream apart from PyTorchDefault's and Apply's so the draws are fresh.
            ulong stream = 0x20000UL + (ulong)t;
            for (int i = 0; i < values.Length; i++)
                values[i] = bound * (2f * CounterRandom.Uniform(seed, stream, (ulong)i) - 1f);
            tensor.Import(values, model.Parameters);
        }
    }

    /// <summary>Sets every element of one tensor (by its PyTorch name) to <paramref name="value"/>, e.g. Cooijmans et
    /// al.'s γ = 0.1 for a recurrent batch normalization's gains.</summary>
    public static void Constant(IRnnModel model, string tensorName, float value)
    {
        var tensor = model.Tensors.FirstOrDefault(t => t.Name == tensorName)
            ?? throw new ArgumentException($"The model has no tensor named '{tensorName}'.", nameof(tensorName));
        tensor.Import(Enumerable.Repeat(value, tensor.Count).ToArray(), model.Parameters);
    }

    /// <summary>Re-initializes one weight tensor (by its PyTorch name) with <paramref name="scheme"/>, drawing from
    /// <paramref name="seed"/> keyed by the tensor's position, so the result is the same on every width and machine.
    /// Fans are PyTorch's for a [rows, columns] weight (fan_in = columns, fan_out = rows; Keras' kernel is the
    /// transpose and has the same fans):
    /// <list type="bullet">
    /// <item><see cref="Initialization.GlorotUniform"/>: U(−a, a), a = √(6/(fan_in + fan_out)) (Keras <c>glorot_uniform</c>,
    /// PyTorch <c>xavier_uniform_</c> with gain 1).</item>
    /// <item><see cref="Initialization.KaimingUniform"/>: U(−b, b), b = √2·√(3/fan_in) (PyTorch <c>kaiming_uniform_</c> with
    /// its defaults a = 0, mode fan_in, leaky_relu gain √2).</item>
    /// <item><see cref="Initialization.Orthogonal"/>: a matrix with orthonormal columns (rows ≥ columns, as weight_hh) or
    /// rows, from the QR factorization of a standard normal matrix with R's diagonal made positive (PyTorch
    /// <c>orthogonal_</c>, Keras <c>Orthogonal</c>, gain 1). Modified Gram–Schmidt in double gives that same Q.</item>
    /// </list></summary>
    public static void Apply(IRnnModel model, string tensorName, Initialization scheme, ulong seed)
    {
        var tensors = model.Tensors;
        int t = 0;
        while (t < tensors.Count && tensors[t].Name != tensorName)
            t++;
        if (t == tensors.Count)
            throw new ArgumentException($"The model has no tensor named '{tensorName}'.", nameof(tensorName));
        var tensor = tensors[t];
        int rows = tensor.Gates * tensor.Units, columns = tensor.Inputs;
        var values = new float[rows * columns];
        // A stream apart from PyTorchDefault's (t) so the draws are fresh.
        ulong stream = 0x10000UL + (ulong)t;
        switch (scheme)
        {
            case Initialization.PyTorchDefault:
                return;
            case Initialization.GlorotUniform:
            case Initialization.KaimingUniform:
            {
                double bound = scheme == Initialization.GlorotUniform
                    ? Math.Sqrt(6.0 / (columns + rows))
                    : Math.Sqrt(2.0) * Math.Sqrt(3.0 / columns);
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)(bound * (2.0 * CounterRandom.Uniform(seed, stream, (ulong)i) - 1.0));
                break;
            }
            case Initialization.Orthogonal:
                Orthogonal(values, rows, columns, seed, stream);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "Unknown initialization.");
        }
        tensor.Import(values, model.Parameters);
    }

    /// <summary>Keras' <c>unit_forget_bias</c> for an LSTM layer: the forget gate's bias 1 and every other bias 0. With
    /// PyTorch's two bias vectors, b_ih carries the 1 and b_hh is all zero (their sum is Keras' single bias).</summary>
    public static void UnitForgetBias(IRnnModel model, string inputBiasName, string recurrentBiasName)
    {
        ParameterTensor Find(string name) => model.Tensors.FirstOrDefault(t => t.Name == name)
            ?? throw new ArgumentException($"The model has no tensor named '{name}'.", nameof(inputBiasName));
        var input = Find(inputBiasName);
        var recurrent = Find(recurrentBiasName);
        if (input.Gates != 4)
            throw new ArgumentException($"'{inputBiasName}' is not an LSTM bias (it has {input.Gates} gates, not 4).", nameof(inputBiasName));
        var values = new float[input.Count];
        values.AsSpan(input.Units, input.Units).Fill(1f); // gate order i, f, g, o: the second block is f
        input.Import(values, model.Parameters);
        recurrent.Import(new float[recurrent.Count], model.Parameters);
    }

    // rows × columns, row-major. The taller orientation gets orthonormal columns; a wide matrix is the transpose.
    private static void Orthogonal(float[] values, int rows, int columns, ulong seed, ulong stream)
    {
        int m = Math.Max(rows, columns), n = Math.Min(rows, columns);
        var q = new double[n][]; // n orthonormal vectors of length m
        for (int j = 0; j < n; j++)
        {
            var v = new double[m];
            for (int i = 0; i < m; i++)
                v[i] = CounterRandom.Normal(seed, stream, (ulong)(i * n + j));
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++)
                    dot += q[k][i] * v[i];
                for (int i = 0; i < m; i++)
                    v[i] -= dot * q[k][i];
            }
            double norm = Math.Sqrt(v.Sum(x => x * x));
            for (int i = 0; i < m; i++)
                v[i] /= norm;
            q[j] = v;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                values[r * columns + c] = (float)(rows >= columns ? q[c][r] : q[r][c]);
    }

    private static int HeadInputs(IReadOnlyList<ParameterTensor> tensors)
    {
        foreach (var tensor in tensors)
            if (tensor.Role == ParameterRole.HeadKernel)
                return tensor.Inputs;
        throw new InvalidOperationException("The model has no head kernel.");
    }
}
