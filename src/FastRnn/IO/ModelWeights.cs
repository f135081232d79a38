namespace FastRnn;

/// <summary>Saving and loading a model's parameters in PyTorch's names, shapes and layout (safetensors).</summary>
public static class ModelWeights
{
    /// <summary>Writes every parameter tensor and every statistic (batch normalizations' running means and variances),
    /// in PyTorch's layout, to a safetensors file (atomically), with <paramref name="metadata"/> in its header.</summary>
    public static void SaveSafetensors(this IRnnModel model, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Safetensors.Write(path, Export(model.Tensors, model.Parameters).Concat(Export(model.StatisticTensors, model.Statistics)), metadata);

    /// <summary>Writes every gradient tensor, under the parameters' names.</summary>
    public static void SaveGradientsSafetensors(this IRnnModel model, string path) =>
        Safetensors.Write(path, Export(model.Tensors, model.Gradients));

    /// <summary>Loads parameters (and statistics) from a safetensors file whose names and shapes must match the model exactly
    /// (after a prefix such as DataParallel's <c>module.</c>, found by itself). The model is changed only if the whole file
    /// matches: a missing or extra name, a wrong shape or dtype, or a truncated file throws
    /// <see cref="InvalidDataException"/> naming the tensor, and leaves the weights as they were.</summary>
    public static void LoadSafetensors(this IRnnModel model, string path) => model.LoadSafetensors(path, new WeightLoadOptions());

    /// <summary>As <see cref="LoadSafetensors(IRnnModel, string)"/>, with a name map, a prefix, or a non-strict load that
    /// reports the names it did not match (F32, F16, BF16 and F64 tensors, converted to float32).</summary>
    public static WeightLoadReport LoadSafetensors(this IRnnModel model, string path, WeightLoadOptions options)
    {
        var entries = Safetensors.Read(path);
        if (entries.Values.FirstOrDefault(e => e.DType == "I8") is { } quantized)
            throw new InvalidDataException($"Safetensors file '{path}' holds int8 weights ('{quantized.Name}'): it is a quantized model's file; " +
                "load it with the model's Quantized.LoadSafetensors.");
        var tensors = entries.ToDictionary(e => e.Key, e => (e.Value.Shape, (Func<float[]>)(() => e.Value.Data)), StringComparer.Ordinal);
        return Load(model, $"Safetensors file '{path}'", tensors, options);
    }

    /// <summary>Loads parameters (and statistics) from a <c>torch.save</c> file of a state dict (PyTorch's zip format), or
    /// of a dict that holds one (a training checkpoint's <c>model_state_dict</c>), without running anything from it: the
    /// pickle is read by a restricted reader that accepts only tensors, storages, OrderedDict and plain values. Float32,
    /// float16, bfloat16 and float64 storages are converted to float32; tensors may share storages, start at offsets and
    /// have any strides. Names match as in <see cref="LoadSafetensors(IRnnModel, string, WeightLoadOptions)"/>; on any
    /// problem this throws <see cref="InvalidDataException"/> and the model keeps its weights.</summary>
    public static WeightLoadReport LoadPyTorch(this IRnnModel model, string path, WeightLoadOptions? options = null)
    {
        var file = PyTorchFile.Read(path);
        var tensors = file.Tensors.ToDictionary(t => t.Key, t => (file.ShapeOf(t.Key, t.Value), (Func<float[]>)(() => file.Values(t.Key, t.Value))),
            StringComparer.Ordinal);
        return Load(model, $"PyTorch file '{path}'", tensors, options ?? new WeightLoadOptions());
    }

    /// <summary>Matches a file's tensors to the model's by name (prefix, name map), checks every shape and reads every
    /// value before the first is written, so a refused file changes nothing.</summary>
    private static WeightLoadReport Load(IRnnModel model, string file, Dictionary<string, (int[] Shape, Func<float[]> Values)> tensors,
        WeightLoadOptions options)
    {
        var targets = model.Tensors.Select(t => (Tensor: t, Statistic: false)).Concat(model.StatisticTensors.Select(t => (Tensor: t, Statistic: true))).ToList();
        var names = targets.Select(t => t.Tensor.Name).ToHashSet(StringComparer.Ordinal);
        string prefix = options.Prefix ?? FindPrefix(file, tensors.Keys, names, options.NameMap);
        var matched = new Dictionary<string, string>(StringComparer.Ordinal);   // model name → file name
        var unexpected = new List<string>();
        foreach (var name in tensors.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal))
        {
            string target = Rename(name[prefix.Length..], options.NameMap);
            if (!names.Contains(target))
            {
                // PyTorch's batch-norm step counter has no counterpart here (FastRnn's running statistics use a momentum)
                if (!(target.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
                      && names.Contains(target[..^".num_batches_tracked".Length] + ".running_mean")))
                    unexpected.Add(name);
            }
            else if (!matched.TryAdd(target, name))
                throw new InvalidDataException($"{file} has two tensors for '{target}': '{matched[target]}' and '{name}'.");
        }
        var missing = targets.Where(t => !matched.ContainsKey(t.Tensor.Name)).Select(t => t.Tensor.Name).ToList();
        if (options.Strict)
        {
            if (unexpected.Count > 0)
                throw new InvalidDataException($"{file} has tensor(s) the model does not: {string.Join(", ", unexpected)}" +
                    (prefix.Length > 0 ? $" (prefix '{prefix}')." : ".") + " A non-strict load (WeightLoadOptions.Strict = false) skips them.");
            if (missing.Count > 0)
            {
                var tensor = targets.First(t => t.Tensor.Name == missing[0]).Tensor;
                throw new InvalidDataException($"{file} lacks tensor '{prefix}{tensor.Name}' of shape ({string.Join(", ", tensor.PyTorchShape)})" +
                    (missing.Count > 1 ? $" and {missing.Count - 1} more" : "") + ".");
            }
        }
        else if (matched.Count == 0)
            throw new InvalidDataException($"{file} has no tensor the model has (the model's names are {string.Join(", ", names.Order(StringComparer.Ordinal))}); " +
                "set WeightLoadOptions.NameMap or Prefix if the file names them otherwise.");

        var values = new List<(ParameterTensor Tensor, bool Statistic, float[] Values)>();
        foreach (var (tensor, statistic) in targets)
        {
            if (!matched.TryGetValue(tensor.Name, out var name))
                continue;
            var (shape, read) = tensors[name];
            if (!shape.SequenceEqual(tensor.PyTorchShape))
                throw new InvalidDataException(
                    $"Tensor '{name}' in {file} has shape ({string.Join(", ", shape)}); the model expects ({string.Join(", ", tensor.PyTorchShape)}).");
            values.Add((tensor, statistic, read()));
        }
        foreach (var (tensor, statistic, data) in values)
            tensor.Import(data, statistic ? model.Statistics : model.Parameters);
        return new WeightLoadReport(prefix, missing, unexpected);
    }

    /// <summary>The prefix under which the most model names appear in the file (after the name map); "" when none
    /// does. Two prefixes that match equally many are ambiguous (a checkpoint holding two models) and refused.</summary>
    private static string FindPrefix(string file, IEnumerable<string> fileNames, HashSet<string> names, IReadOnlyDictionary<string, string>? map)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in fileNames)
            // every split after a dot: the prefix before it, the model name after it
            for (int start = 0, dot; start < name.Length; start = dot + 1)
            {
                if (names.Contains(Rename(name[start..], map)))
                    counts[name[..start]] = counts.GetValueOrDefault(name[..start]) + 1;
                if ((dot = name.IndexOf('.', start)) < 0)
                    break;
            }
        if (counts.Count == 0)
            return "";
        int best = counts.Values.Max();
        var winners = counts.Where(c => c.Value == best).Select(c => c.Key).Order(StringComparer.Ordinal).ToList();
        if (winners.Count > 1)
            throw new InvalidDataException($"{file} holds the model's tensors under {winners.Count} prefixes ({string.Join(", ", winners.Select(w => $"'{w}'"))}); " +
                "choose one with WeightLoadOptions.Prefix.");
        return winners[0];
    }

    /// <summary>The name with its longest leading components that <paramref name="map"/> has replaced.</summary>
    private static string Rename(string name, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null)
            return name;
        for (int end = name.Length; end > 0; end = name.LastIndexOf('.', end - 1))
            if (map.TryGetValue(name[..end], out var replacement))
                return replacement + name[end..];
        return name;
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
