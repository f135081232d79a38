using BenchmarkDotNet.Attributes;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>
/// What each regularization technique costs in training: the character language model's iteration (Embedding(96, 64)
/// → LSTM(256) → Linear(96), batch 32, length 64, Adam) with one technique on, against the model that does not
/// declare it ("undeclared") and the one that declares every site with its rates at 0 at run time ("declared, off").
/// </summary>
[MemoryDiagnoser]
public class RegularizationBenchmarks
{
    private const int Batch = CharModelBatch.Batch, Steps = CharModelBatch.Steps;
    private ISequenceModel _model = null!;
    private Adam _adam = null!;

    [Params(256, 512)] public int Bits { get; set; }

    [Params("undeclared", "declared, off", "embedding dropout 0.1", "input dropout 0.25", "head dropout 0.4",
        "recurrent dropout 0.25", "all four", "locked input 0.25", "locked head 0.4",
        "zoneout h 0.1", "zoneout c 0.05", "zoneout h 0.1 + c 0.05", "weight drop 0.5", "candidate dropout 0.25")]
    public string Technique { get; set; } = "undeclared";

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            _model = Technique switch
            {
                "undeclared" => new CharLanguageModel(Batch, Steps, seed: 1),
                "locked input 0.25" or "locked head 0.4" => new CharLanguageModelLockedDropout(Batch, Steps, seed: 1),
                "zoneout h 0.1" or "zoneout c 0.05" or "zoneout h 0.1 + c 0.05" or "weight drop 0.5" or "candidate dropout 0.25" => new CharLanguageModelZoneout(Batch, Steps, seed: 1),
                _ => new CharLanguageModelDropout(Batch, Steps, seed: 1),
            };
            _adam = new Adam(_model, 1e-3f);
        }
        var options = _model.Options;
        foreach (var name in options.Names)
            options[name] = 0f;
        switch (Technique)
        {
            case "embedding dropout 0.1": options["EmbeddingDropout"] = 0.1f; break;
            case "input dropout 0.25" or "locked input 0.25": options["Layer0Dropout"] = 0.25f; break;
            case "head dropout 0.4" or "locked head 0.4": options["HeadDropout"] = 0.4f; break;
            case "recurrent dropout 0.25": options["Layer0RecurrentDropout"] = 0.25f; break;
            case "zoneout h 0.1": options["Layer0Zoneout"] = 0.1f; break;
            case "zoneout c 0.05": options["Layer0CellZoneout"] = 0.05f; break;
            case "weight drop 0.5": options["Layer0WeightDrop"] = 0.5f; break;
            case "candidate dropout 0.25": options["Layer0CandidateDropout"] = 0.25f; break;
            case "zoneout h 0.1 + c 0.05":
                options["Layer0Zoneout"] = 0.1f;
                options["Layer0CellZoneout"] = 0.05f;
                break;
            case "all four":
                options["EmbeddingDropout"] = 0.1f;
                options["Layer0Dropout"] = 0.25f;
                options["Layer0RecurrentDropout"] = 0.25f;
                options["HeadDropout"] = 0.4f;
                break;
        }
    }

    [Benchmark(Description = "training iteration (forward, loss, backward, Adam)")]
    public float Iteration() => CharModelBatch.Iteration(_model, _adam);
}

/// <summary>What clipping, penalties and constraints cost: the same training iteration with Adam clipping the gradient (the clipping itself sits
/// in the update pass; every step adds one read of the gradient arena for norms and the non-finite check).</summary>
[MemoryDiagnoser]
public class ClippingBenchmarks
{
    private ISequenceModel _model = null!;
    private Adam _adam = null!;

    [Params(256, 512)] public int Bits { get; set; }

    [Params("global norm 1e9 (never clips)", "global norm 0.5", "value 0.01 + global norm 0.5",
        "L1/L2 penalties on 3 groups", "penalties + global norm 0.5", "max-norm 3 on both kernels")]
    public string Clip { get; set; } = "global norm 0.5";

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            _model = Clip.Contains("penalties", StringComparison.OrdinalIgnoreCase)
                ? new CharLanguageModelPenalized(CharModelBatch.Batch, CharModelBatch.Steps, seed: 1)
                : Clip.StartsWith("max-norm", StringComparison.Ordinal)
                    ? new CharLanguageModelConstrained(CharModelBatch.Batch, CharModelBatch.Steps, seed: 1)
                    : new CharLanguageModel(CharModelBatch.Batch, CharModelBatch.Steps, seed: 1);
            _adam = new Adam(_model, 1e-3f);
        }
        _adam.Clipping.MaxGlobalNorm = Clip.StartsWith("global norm 1e9", StringComparison.Ordinal) ? 1e9f
            : Clip.Contains("global norm 0.5", StringComparison.Ordinal) ? 0.5f : 0f;
        if (Clip.StartsWith("value", StringComparison.Ordinal))
            _adam.Clipping.MaxValue = 0.01f;
    }

    [Benchmark(Description = "training iteration (forward, loss, backward, Adam)")]
    public float Iteration() => CharModelBatch.Iteration(_model, _adam);
}

/// <summary>What the normalizations cost: the character model's training iteration with a layer-normalized,
/// recurrent-batch-normalized or output-batch-normalized LSTM against the plain one, and the batch-1 streaming step of
/// LSTM(256) / GRU(256) likewise (a normalized layer makes its products in one fused pass, then normalizes the rows).</summary>
[MemoryDiagnoser]
public class NormalizationBenchmarks
{
    private const int Batch = CharModelBatch.Batch, Steps = CharModelBatch.Steps;
    private ISequenceModel _model = null!, _stepModel = null!, _gruModel = null!;
    private Adam _adam = null!;
    private IRnnState _state = null!, _gruState = null!;
    private readonly float[] _input = Enumerable.Range(0, 256).Select(i => MathF.Sin(i)).ToArray();
    private readonly float[] _output = new float[1];

    [Params(256, 512)] public int Bits { get; set; }

    [Params("plain", "layer norm", "recurrent batch norm", "output batch norm")] public string Cell { get; set; } = "plain";

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            (_model, _stepModel, _gruModel) = Cell switch
            {
                "layer norm" => ((ISequenceModel)new CharLanguageModelLayerNorm(Batch, Steps, seed: 1), (ISequenceModel)new LayerNormLstm256(1, 1), (ISequenceModel)new LayerNormGru256(1, 1)),
                "recurrent batch norm" => (new CharLanguageModelRecurrentBatchNorm(Batch, Steps, seed: 1), new BatchNormLstm256(1, 1), new BatchNormGru256(1, 1)),
                "output batch norm" => (new CharLanguageModelOutputBatchNorm(Batch, Steps, seed: 1), new OutputBatchNormLstm256(1, 1), new OutputBatchNormGru256(1, 1)),
                _ => (new CharLanguageModel(Batch, Steps, seed: 1), new Lstm256(1, 1), new Gru256(1, 1)),
            };
            _adam = new Adam(_model, 1e-3f);
        }
        _state = _stepModel.NewState(1);
        _gruState = _gruModel.NewState(1);
    }

    [Benchmark(Description = "char LM training iteration (forward, loss, backward, Adam)")]
    public float Iteration() => CharModelBatch.Iteration(_model, _adam);

    [Benchmark(Description = "LSTM(256) step, batch 1")]
    public float LstmStep()
    {
        _stepModel.StepDense(_input, _state, _output);
        return _output[0];
    }

    [Benchmark(Description = "GRU(256) step, batch 1")]
    public float GruStep()
    {
        _gruModel.StepDense(_input, _gruState, _output);
        return _output[0];
    }
}
