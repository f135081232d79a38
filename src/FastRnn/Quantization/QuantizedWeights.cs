using System.Globalization;
using FastRnn.Kernels;

namespace FastRnn;

/// <summary>
/// What a generated model's <c>Quantized</c> serves from: every weight matrix (<see cref="TensorStorage.InterleavedWeight"/>:
/// input and recurrent kernels, projections, the head) as a <see cref="QuantizedMatrix"/>, and every other tensor
/// (biases, normalization gains, the embedding) and statistic in float32 at the offsets of the model's own arenas, so
/// the generated cell code reads them where the float32 model does. The matrices' regions of that arena stay zero and
/// are never read. Saved as safetensors: each matrix under its PyTorch name and shape as BF16, or as I8 with a float32
/// <c>{name}.scale</c> per output row; the rest F32; the precision in the metadata. No float32 matrix is kept or saved.
/// </summary>
public sealed class QuantizedWeights
{
    /// <summary>The metadata key that names a file's precision (<c>bfloat16</c> or <c>int8</c>).</summary>
    public const string PrecisionKey = "fastrnn.precision";

    private const string OptionPrefix = "fastrnn.option.";
    private readonly Dictionary<int, QuantizedMatrix> _matrices;

    private QuantizedWeights(WeightPrecision precision, float[] parameters, float[] statistics, Dictionary<int, QuantizedMatrix> matrices,
        IReadOnlyDictionary<string, float> options)
    {
        Precision = precision;
        Parameters = parameters;
        Statistics = statistics;
        _matrices = matrices;
        Options = options;
    }

    /// <summary>bfloat16 or int8.</summary>
    public WeightPrecision Precision { get; }

    /// <summary>The float32 tensors at the model's offsets (the matrices' regions zero).</summary>
    public float[] Parameters { get; }

    /// <summary>The running statistics, as the model's statistics arena.</summary>
    public float[] Statistics { get; }

    /// <summary>The run-time rates the weights were quantized with (zoneout's, which inference uses as its expectation), by name.</summary>
    public IReadOnlyDictionary<string, float> Options { get; }

    /// <summary>Bytes of the matrices as served (packed weights, and int8's scales and row sums).</summary>
    public long MatrixBytes => _matrices.Values.Sum(m => m.Bytes);

    /// <summary>The matrix whose float32 original sits at <paramref name="offset"/> of the parameter arena.</summary>
    public QuantizedMatrix Matrix(int offset) => _matrices.TryGetValue(offset, out var matrix)
        ? matrix
        : throw new ArgumentException($"No weight matrix starts at offset {offset}.", nameof(offset));

    private static bool IsMatrix(ParameterTensor tensor) => tensor.Storage == TensorStorage.InterleavedWeight;

    /// <summary>Quantizes <paramref name="model"/>'s matrices to <paramref name="precision"/> and copies its other tensors,
    /// its statistics and its run-time rates; the model is only read. A matrix with a value that is not finite throws.</summary>
    public static QuantizedWeights Quantize(IRnnModel model, WeightPrecision precision, IRunOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ReadOnlySpan<float> source = model.Parameters;
        var parameters = new float[source.Length];
        var matrices = new Dictionary<int, QuantizedMatrix>();
        foreach (var tensor in model.Tensors)
        {
            var range = source.Slice(tensor.Offset, tensor.StorageLength);
            if (IsMatrix(tensor))
            {
                foreach (float value in range)
                    if (!float.IsFinite(value))
                        throw new ArgumentException($"Tensor '{tensor.Name}' holds a value that is not finite; it cannot be quantized.", nameof(model));
                matrices[tensor.Offset] = QuantizedMatrix.Quantize(range, tensor.Shape, precision);
            }
            else
                range.CopyTo(parameters.AsSpan(tensor.Offset));
        }
        var rates = options is null ? new Dictionary<string, float>() : options.Names.ToDictionary(n => n, n => options[n], StringComparer.Ordinal);
        return new QuantizedWeights(precision, parameters, model.Statistics.ToArray(), matrices, rates);
    }

    /// <summary>Writes the weights as safetensors (atomically): each matrix in its precision under its PyTorch name and
    /// shape (an int8 one with its <c>{name}.scale</c>), every other tensor and statistic as F32, and in the metadata
    /// the precision and the run-time rates.</summary>
    public void Save(string path, IReadOnlyList<ParameterTensor> tensors, IReadOnlyList<ParameterTensor> statisticTensors)
    {
        var entries = new List<(string, string, int[], float[])>();
        foreach (var tensor in tensors)
        {
            if (!IsMatrix(tensor))
            {
                var values = new float[tensor.Count];
                tensor.Export(Parameters, values);
                entries.Add((tensor.Name, "F32", tensor.PyTorchShape, values));
                continue;
            }
            var matrix = Matrix(tensor.Offset);
            int rows = tensor.Gates * tensor.Units, inputs = tensor.Inputs;
            var stored = new float[rows * inputs];
            var scales = new float[rows];
            for (int row = 0; row < rows; row++)
            {
                int unit = row % tensor.Units, gate = row / tensor.Units;
                scales[row] = matrix.Scale(unit, gate);
                for (int k = 0; k < inputs; k++)
                    stored[row * inputs + k] = Precision == WeightPrecision.Int8
                        ? matrix.Stored(unit, gate, k)
                        : BFloat16.ToSingle((ushort)matrix.Stored(unit, gate, k));
            }
            entries.Add((tensor.Name, DType(Precision), tensor.PyTorchShape, stored));
            if (Precision == WeightPrecision.Int8)
                entries.Add((tensor.Name + ".scale", "F32", [rows], scales));
        }
        foreach (var tensor in statisticTensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(Statistics, values);
            entries.Add((tensor.Name, "F32", tensor.PyTorchShape, values));
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [PrecisionKey] = Name(Precision) };
        foreach (var (name, value) in Options)
            metadata[OptionPrefix + name] = value.ToString("R", CultureInfo.InvariantCulture);
        Safetensors.Write(path, entries, metadata);
    }

    /// <summary>Reads weights <see cref="Save"/> wrote for a model of <paramref name="tensors"/>: every name, dtype and
    /// shape must be the model's exactly (matrices in the file's precision, everything else F32), every int8 value in
    /// [−127, 127] and every scale finite and not negative; anything else is an <see cref="InvalidDataException"/>
    /// naming the tensor.</summary>
    public static QuantizedWeights Load(string path, IReadOnlyList<ParameterTensor> tensors, IReadOnlyList<ParameterTensor> statisticTensors,
        int parameterCount, int statisticCount)
    {
        var entries = Safetensors.Read(path, out var metadata);
        string file = $"Quantized model file '{path}'";
        if (!metadata.TryGetValue(PrecisionKey, out var precisionName))
            throw new InvalidDataException($"{file} does not say its precision ('{PrecisionKey}' in its metadata): it is not a quantized model's file.");
        var precision = precisionName switch
        {
            "bfloat16" => WeightPrecision.BFloat16,
            "int8" => WeightPrecision.Int8,
            _ => throw new InvalidDataException($"{file} has precision '{precisionName}'; FastRnn serves bfloat16 and int8."),
        };
        var expected = new HashSet<string>(StringComparer.Ordinal);
        SafetensorsEntry Take(string name, string dtype, int[] shape)
        {
            expected.Add(name);
            if (!entries.TryGetValue(name, out var entry))
                throw new InvalidDataException($"{file} lacks tensor '{name}' ({dtype}, shape ({string.Join(", ", shape)})).");
            if (entry.DType != dtype)
                throw new InvalidDataException($"{file}: tensor '{name}' is {entry.DType}; {(precision == WeightPrecision.Int8 ? "an int8" : "a bfloat16")} file stores it as {dtype}.");
            if (!entry.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"{file}: tensor '{name}' has shape ({string.Join(", ", entry.Shape)}); the model's is ({string.Join(", ", shape)}).");
            return entry;
        }

        var parameters = new float[parameterCount];
        var statistics = new float[statisticCount];
        var matrices = new Dictionary<int, QuantizedMatrix>();
        foreach (var tensor in tensors)
        {
            if (!IsMatrix(tensor))
            {
                tensor.Import(Take(tensor.Name, "F32", tensor.PyTorchShape).Data, parameters);
                continue;
            }
            var values = Take(tensor.Name, DType(precision), tensor.PyTorchShape).Data;
            float[] scales = precision == WeightPrecision.Int8 ? Take(tensor.Name + ".scale", "F32", [tensor.Gates * tensor.Units]).Data : [];
            int inputs = tensor.Inputs, units = tensor.Units;
            matrices[tensor.Offset] = QuantizedMatrix.FromStored(tensor.Shape, units, precision,
                (j, g, k) => precision == WeightPrecision.Int8 ? (int)values[(g * units + j) * inputs + k] : BFloat16.FromSingle(values[(g * units + j) * inputs + k]),
                (j, g) => scales[g * units + j], tensor.Name);
        }
        foreach (var tensor in statisticTensors)
            tensor.Import(Take(tensor.Name, "F32", tensor.PyTorchShape).Data, statistics);
        if (entries.Keys.FirstOrDefault(n => !expected.Contains(n)) is { } extra)
            throw new InvalidDataException($"{file} has tensor '{extra}', which the model does not.");
        var options = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
            if (key.StartsWith(OptionPrefix, StringComparison.Ordinal))
                options[key[OptionPrefix.Length..]] = float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float rate)
                    ? rate
                    : throw new InvalidDataException($"{file}: option '{key}' is '{value}', not a number.");
        return new QuantizedWeights(precision, parameters, statistics, matrices, options);
    }

    private static string DType(WeightPrecision precision) => precision == WeightPrecision.Int8 ? "I8" : "BF16";

    /// <summary>The name a file's metadata gives a precision.</summary>
    public static string Name(WeightPrecision precision) => precision == WeightPrecision.Int8 ? "int8" : "bfloat16";
}
