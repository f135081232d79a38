using FastRnn;
using FastRnn.Kernels;

// Usage: FastRnn.AllocationProbe <model> <256|512> [threads]   (threads > 1: the optimizer updates on a ComputePool)
// Warms up, then runs 1,000 streaming steps (batch 1 and batch 3, of the model and of its bfloat16 and int8 copies;
// none for a bidirectional model, which cannot stream)
// and 10 training iterations (forward, loss, backward, Adam with clipping; batch 8, 12 steps, state carried) each with an
// inference forward (on a pool: split by rows), and prints the bytes this thread and the whole process allocated.

const int Batch = 8, Steps = 12;
string name = args.Length > 0 ? args[0] : "tokens";
bool wide = args.Length > 1 && args[1] == "512";
int threads = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1;
ISequenceModel model;
Optimizer optimizer;
using (VectorPath.Override(wide))
{
    model = name switch
    {
        "tokens" => new TokenStack(Batch, Steps, 3),
        "mixed" => new MixedStack(Batch, Steps, 3),
        "classic" => new ClassicLastStep(Batch, Steps, 3),
        "dropout" => new DropoutEverywhere(Batch, Steps, 3),
        "zoneout" => new ZoneoutEverywhere(Batch, Steps, 3),
        "penalties" => new PenaltiesAndActivations(Batch, Steps, 3),
        "layernorm" => new LayerNormalized(Batch, Steps, 3),
        "batchnorm" => new BatchNormalized(Batch, Steps, 3),
        "bidirectional" => new BothDirections(Batch, Steps, 3),
        "projection" => new Projected(Batch, Steps, 3),
        "bidinorm" => new NormalizedDirections(Batch, Steps, 3),
        _ => throw new ArgumentException($"unknown model {name}"),
    };
    // Clipping on, so its gradient scan and the clipped update are measured too.
    optimizer = new Adam(model, 1e-3f) { Clipping = { MaxGlobalNorm = 1f, MaxValue = 5f } };
}
// The pool's workers are other threads: GC.GetTotalAllocatedBytes(precise: true) below counts them too.
using var pool = threads > 1 ? new ComputePool(threads) : null;
optimizer.Pool = pool;
model.GetType().GetProperty("Pool")!.SetValue(model, pool); // the model's input products too
var random = new Random(1);
int inputCount = Steps * Batch * model.InputWidth;
var dense = Enumerable.Range(0, inputCount).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
var tokens = Enumerable.Range(0, inputCount).Select(_ => random.Next(Math.Max(1, model.Vocabulary))).ToArray();
int targetRows = model.EveryStep ? Steps * Batch : Batch;
var floatTargets = Enumerable.Range(0, targetRows * model.OutputWidth).Select(_ => (float)random.NextDouble()).ToArray();
var classTargets = Enumerable.Range(0, targetRows).Select(_ => random.Next(model.OutputWidth)).ToArray();
var single = model.NewState(1);
single.GetType().GetProperty("Pool")?.SetValue(single, pool); // a state's batch-1 steps on the pool, where the model allows it
var batched = model.NewState(3);
var carried = model.NewState(Batch);
var output1 = new float[model.OutputWidth];
int[] lengths = [Steps, Steps - 3, 1, Steps - 1, 2, Steps, 5, Steps - 2];
var output3 = new float[3 * model.OutputWidth];
// The quantized copies' steps (bfloat16 and int8 matrices) on states of their own.
IQuantizedModel[] quantized;
using (VectorPath.Override(wide))
    quantized = model.CanStep ? [model.Quantize(WeightPrecision.BFloat16), model.Quantize(WeightPrecision.Int8)] : [];
var quantizedStates = quantized.Select(q => (Single: q.NewState(1), Batched: q.NewState(3))).ToArray();
foreach (var (one, _) in quantizedStates)
    one.GetType().GetProperty("Pool")?.SetValue(one, pool); // the quantized step on the pool too, where the model allows it

for (int i = 0; i < 50; i++) { Iteration(); Stream(i); }

// Steady state means no more JIT work: tier-1 recompilation runs on a background thread after a delay, and on a slow or
// busy machine it can fall inside the measured window, where the runtime's own work on that thread would be counted as
// ours. A window in which any method was compiled is therefore not steady state; it is reported and measured again
// (at most five times). Any other allocation, on this thread or any other, fails.
for (int window = 1; ; window++)
{
    Thread.Sleep(250);
    long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
    long thread = GC.GetAllocatedBytesForCurrentThread();
    long total = GC.GetTotalAllocatedBytes(precise: true);
    for (int i = 0; i < 1000; i++) Stream(i);
    for (int i = 0; i < 10; i++) Iteration();
    long threadBytes = GC.GetAllocatedBytesForCurrentThread() - thread;
    long totalBytes = GC.GetTotalAllocatedBytes(precise: true) - total;
    long compiledInWindow = System.Runtime.JitInfo.GetCompiledMethodCount() - compiled;
    if (compiledInWindow > 0 && window < 5)
    {
        Console.Error.WriteLine($"window {window}: {compiledInWindow} methods compiled (thread={threadBytes} process={totalBytes}); measuring again");
        continue;
    }
    Console.WriteLine($"thread={threadBytes} process={totalBytes} wide={model is { } && wide}" +
        (compiledInWindow > 0 ? $" jit={compiledInWindow}" : ""));
    break;
}
return 0;

void Iteration()
{
    if (!model.EveryStep) // a last-step head: rows of different lengths
    {
        if (model.TakesTokens) model.ForwardTokens(tokens, Batch, Steps, lengths);
        else model.ForwardDense(dense, Batch, Steps, lengths);
    }
    else if (model.TakesTokens) model.ForwardTokens(tokens, Batch, Steps, carried);
    else model.ForwardDense(dense, Batch, Steps, carried);
    if (model.ClassTargets) model.LossClasses(classTargets);
    else model.LossDense(floatTargets);
    model.ZeroGrad();
    model.Backward();
    optimizer.Step();
    Infer();
}

// An inference forward without a state: on a pool of several threads, split by rows of the batch (the model's shards,
// allocated by the first one).
void Infer()
{
    model.Options.Training = false;
    if (!model.EveryStep)
    {
        if (model.TakesTokens) model.ForwardTokens(tokens, Batch, Steps, lengths);
        else model.ForwardDense(dense, Batch, Steps, lengths);
    }
    else if (model.TakesTokens) model.ForwardTokens(tokens, Batch, Steps);
    else model.ForwardDense(dense, Batch, Steps);
    model.Options.Training = true;
}

void Stream(int i)
{
    if (!model.CanStep) // a bidirectional model has no streaming step
        return;
    if (model.TakesTokens)
    {
        model.StepTokens(tokens.AsSpan(i % Steps, 1), single, output1);
        model.StepTokens(tokens.AsSpan(i % Steps, 3), batched, output3);
    }
    else
    {
        model.StepDense(dense.AsSpan(i % Steps * model.InputWidth, model.InputWidth), single, output1);
        model.StepDense(dense.AsSpan(i % Steps * model.InputWidth, 3 * model.InputWidth), batched, output3);
    }
    for (int q = 0; q < quantized.Length; q++)
    {
        var (one, three) = quantizedStates[q];
        if (model.TakesTokens)
        {
            quantized[q].StepTokens(tokens.AsSpan(i % Steps, 1), one, output1);
            quantized[q].StepTokens(tokens.AsSpan(i % Steps, 3), three, output3);
        }
        else
        {
            quantized[q].StepDense(dense.AsSpan(i % Steps * model.InputWidth, model.InputWidth), one, output1);
            quantized[q].StepDense(dense.AsSpan(i % Steps * model.InputWidth, 3 * model.InputWidth), three, output3);
        }
    }
}

[RnnModel, TokenInput(20, 16), Lstm(64), Lstm(37), Lstm(8), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class TokenStack;

[RnnModel, DenseInput(6), Lstm(37), Gru(64), Gru(8, Variant = GruVariant.ResetBefore), Head(3), Loss(LossKind.MeanSquaredError)]
internal sealed partial class MixedStack;

[RnnModel, DenseInput(4), Gru(37, Layers = 2, Variant = GruVariant.ResetBefore), Head(2, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class ClassicLastStep;

[RnnModel, TokenInput(20, 16, EmbeddingDropout = 0.1), Lstm(40, Dropout = 0.2, RecurrentDropout = 0.25, WeightDrop = 0.3), Gru(24, LockedDropout = 0.3, RecurrentDropout = 0.1, CandidateDropout = 0.2), Head(20, Activation.Softmax, Dropout = 0.5), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class DropoutEverywhere;

[RnnModel, DenseInput(6), Lstm(40, Zoneout = 0.2, CellZoneout = 0.1), Gru(24, Zoneout = 0.3), Gru(8, Variant = GruVariant.ResetBefore, Zoneout = 0.1), Head(3), Loss(LossKind.MeanSquaredError)]
internal sealed partial class ZoneoutEverywhere;

[RnnModel, TokenInput(20, 16), Lstm(24), Gru(16, Dropout = 0.2), Head(20, Activation.Softmax, Dropout = 0.3, ActivationRegularization = 2, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)]
[Penalty(ParameterGroup.RecurrentKernel, L1 = 1e-5, L2 = 1e-4), Penalty(ParameterGroup.Bias, L2 = 1e-3), Penalty(ParameterGroup.Embedding, L1 = 1e-4)]
[Constraint(ParameterGroup.RecurrentKernel, ConstraintKind.MaxNorm, Max = 3), Constraint(ParameterGroup.Bias, ConstraintKind.UnitNorm), Constraint(ParameterGroup.Embedding, ConstraintKind.MaxNorm, Axis = 1), Constraint(ParameterGroup.HeadKernel, ConstraintKind.NonNegative)]
internal sealed partial class PenaltiesAndActivations;

[RnnModel, TokenInput(20, 16), Lstm(40, LayerNorm = true, Dropout = 0.2, Zoneout = 0.1), Gru(24, LayerNorm = true, RecurrentDropout = 0.2), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class LayerNormalized;

[RnnModel, DenseInput(6), Lstm(40, BatchNorm = true, RecurrentBatchNorm = true, MaxSteps = 8), Gru(24, BatchNorm = true, LayerNorm = true), Gru(16, RecurrentBatchNorm = true, MaxSteps = 20), Head(3), Loss(LossKind.MeanSquaredError)]
internal sealed partial class BatchNormalized;

[RnnModel, TokenInput(20, 16), Lstm(40, Bidirectional = true, LockedDropout = 0.2, RecurrentDropout = 0.2, WeightDrop = 0.2), Gru(24, Bidirectional = true, Zoneout = 0.1, CandidateDropout = 0.2), Head(20, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class BothDirections;

[RnnModel, TokenInput(20, 16), Lstm(24, Bidirectional = true, LayerNorm = true, Dropout = 0.2), Gru(16, Bidirectional = true, RecurrentBatchNorm = true, MaxSteps = 6), Head(20, Activation.Softmax, ActivationRegularization = 2, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class NormalizedDirections;

[RnnModel, TokenInput(20, 16), Lstm(40, Layers = 2, Projection = 16, Dropout = 0.2, WeightDrop = 0.2, CellZoneout = 0.1), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class Projected;
