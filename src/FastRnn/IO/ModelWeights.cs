namespace FastRnn;

/// <summary>Saving and loading a model's parameters in PyTorch's names, shapes and layout (safetensors).</summary>
public static class ModelWeights
{
    /// <summary>Writes every parameter tensor and every statistic (batch normalizations' running means and variances),
    /// in PyTorch's layout, to a safetensors file (atomically).</summary>
    public static void SaveSafetensors(this IRnnModel model, string path) =>
        Safetensors.Write(path, Export(model.Tensors, model.Parameters).Concat(Export(model.StatisticTensors, model.Statistics)));

    /// <summary>Writes every gradient tensor, under the parameters' names.</summary>
    public static void SaveGradientsSafetensors(this IRnnModel model, string path) =>
        Safetensors.Write(path, Export(model.Tensors, model.Gradients));

    /// <summary>Loads parameters (and statistics) from a safetensors file whose names and shapes must match the model exactly. The
    /// model is changed only if the whole file matches: a missing or extra name, a wrong shape or dtype, or a
    /// truncated file throws <see cref="InvalidDataException"/> naming the tensor, and leaves the weights as they were.</summary>
    public static void LoadSafetensors(this IRnnModel model, string path)
    {
        var entries = Safetensors.Read(path);
        var tensors = model.Tensors.Concat(model.StatisticTensors).ToList();
        var expected = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var extra = entries.Keys.Where(n => !expected.Contains(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"Safetensors file '{path}' has tensor(s) the model does not: {string.Join(", ", extra)}.");
        foreach (var tensor in tensors)
        {
            if (!entries.TryGetValue(tensor.Name, out var entry))
                throw new InvalidDataException($"Safetensors file '{path}' lacks tensor '{tensor.Name}' of shape ({string.Join(", ", tensor.PyTorchShape)}).");
            if (!entry.Shape.SequenceEqual(tensor.PyTorchShape))
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' in '{path}' has shape ({string.Join(", ", entry.Shape)}); the model expects ({string.Join(", ", tensor.PyTorchShape)}).");
        }
        foreach (var tensor in model.Tensors)
            tensor.Import(entries[tensor.Name].Data, model.Parameters);
        foreach (var tensor in model.StatisticTensors)
            tensor.Import(entries[tensor.Name].Data, model.Statistics);
    }

    private static List<(string, int[], float[])> Export(IReadOnlyList<ParameterTensor> tensors, Span<float> arena)
    {
        var list = new List<(string, int[], float[])>();
        foreach (var tensor in tensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(arena, values);
            list.Add((tensor.Name, tensor.PyTorchShape, values));
        }
        return list;
    }
}
