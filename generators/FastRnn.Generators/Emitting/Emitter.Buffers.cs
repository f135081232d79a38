using System.Collections.Generic;
using System.Linq;

namespace FastRnn.Generators;

// The buffer plan: every array the generated model and its State hold, built once per model. The model's fields and
// constructor and the State's fields and constructor are written from it (EmitBufferFields, EmitBufferAllocations).
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        private List<Buffer>? _buffers;

        /// <summary>The model's buffer plan (built on first use).</summary>
        private List<Buffer> Buffers => _buffers ??= PlanBuffers().ToList();

        private IEnumerable<Buffer> PlanBuffers()
        {
            foreach (var buffer in InputBuffers())
                yield return buffer;
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                foreach (var buffer in LayerBuffers(n))
                    yield return buffer;
                foreach (var buffer in LayerMaskBuffers(n))
                    yield return buffer;
                foreach (var buffer in LayerNormalizationBuffers(n))
                    yield return buffer;
                foreach (var buffer in LayerStateBuffers(n))
                    yield return buffer;
            }
            foreach (var buffer in SharedBuffers())
                yield return buffer;
            foreach (var buffer in HeadBuffers())
                yield return buffer;
            foreach (var buffer in CompositionBuffers())
                yield return buffer;
            if (Streams)
                yield return State("QuantizedScratch", "batch * QuantizedScratchRow", "A quantized step's int8 inputs: each row's scale and quantized values.") with { ElementType = "byte" };
        }

        private static Buffer Model(string name, string? length, string comment, BufferSizing sizing = BufferSizing.Capacity) =>
            new(name, BufferOwner.Model, length, comment, sizing, Aligned: true);

        private static Buffer Constant(string name, string length, string comment) =>
            new(name, BufferOwner.Model, length, comment, BufferSizing.Constant, Aligned: true);

        /// <summary>A buffer only backward reads or writes: a shard, which runs inference forwards only, has it empty.</summary>
        private static Buffer BackwardOnly(Buffer buffer) => buffer with { InShard = BufferInShard.Empty };

        /// <summary>A mask site: a shard takes its parent's, copied at each Forward it runs (the pass the parent began).</summary>
        private static Buffer Site(string name, string type, string comment) =>
            new(name, BufferOwner.Model, null, comment, FieldType: $"global::FastRnn.Kernels.{type}", Mutable: true, InShard: BufferInShard.Parents);

        private static Buffer State(string name, string length, string comment, bool mutable = false, string? fill = null) =>
            new(name, BufferOwner.State, length, comment, Mutable: mutable, Fill: fill);

        // ---- the model's input ----------------------------------------------------------------------------------

        private IEnumerable<Buffer> InputBuffers()
        {
            yield return Constant("_parameters", "ParameterCount", "The parameter arena: every tensor, gate-interleaved, at the offsets above (each on a cache line).") with { InShard = BufferInShard.Parents };
            yield return Constant("_gradients", "ParameterCount", "The gradient arena, in the parameters' layout.") with { InShard = BufferInShard.Parents };
            yield return Model("_input", "rows * InputSize", "Layer 0's input for every step and row: [steps·batch, InputSize], time-major.");
            if (Tokens)
            {
                yield return Model("_tokens", "rows", "The token ids of the last Forward: [steps·batch].") with { ElementType = "int" };
                yield return BackwardOnly(Model("_inputGradient", "rows * InputPadded", "∂L/∂embedding rows of the last backward: [steps·batch, InputPadded]."));
            }
            if (_m.EmbeddingDropout is not null)
                yield return Site("_embeddingMask", "DropoutSite", "Embedding dropout's site for the current pass (rows of the table).");
            yield return new Buffer("Input", BufferOwner.State, "batch * InputSize", "The step's input rows (token input: their embeddings): [batch, InputSize].");
        }

        // ---- a layer ------------------------------------------------------------------------------------------

        /// <summary>What a layer's forward saves for backward, and backward's own buffers.</summary>
        private IEnumerable<Buffer> LayerBuffers(int n)
        {
            var layer = _m.Layers[n];
            string L = $"L{n}";
            yield return Model($"_l{n}Gates", $"rows * {L}Row", $"Layer {n}'s activated gates: [steps·batch, Row].");
            yield return Model($"_l{n}Hidden", $"(rows + batchCapacity) * {L}Padded", $"Layer {n}'s hidden states: [(steps + 1)·batch, Padded] (slot 0 is the initial state).");
            if (layer.Cell == CellKind.Lstm)
                yield return Model($"_l{n}Cell", $"(rows + batchCapacity) * {L}Padded", $"Layer {n}'s cell states: [(steps + 1)·batch, Padded] (slot 0 is the initial state).");
            else
            {
                yield return Model($"_l{n}Aux", $"rows * {L}Padded", layer.Cell == CellKind.GruResetAfter
                    ? $"Layer {n}'s U_n·h(t−1) + b_hn per step (the reset gate's gradient needs it): [steps·batch, Padded]."
                    : $"Layer {n}'s r⊙h(t−1) per step (the candidate's recurrent input): [steps·batch, Padded].");
                yield return Model($"_l{n}Recurrent", $"batchCapacity * {L}Row", $"Layer {n}'s recurrent product of the current step: [batch, Row].");
            }
            yield return BackwardOnly(Model($"_l{n}GateGradient", $"rows * {L}Row", $"∂L/∂(layer {n}'s gate pre-activations): [steps·batch, Row]."));
            if (layer.Cell == CellKind.GruResetAfter || layer.Normalized)
                yield return BackwardOnly(Model($"_l{n}RecurrentGradient", $"rows * {L}Row", $"∂L/∂(layer {n}'s recurrent products): [steps·batch, Row]."));
            yield return BackwardOnly(Model($"_l{n}HiddenGradient", $"rows * {L}Padded", Projects(n)
                ? $"∂L/∂r of layer {n}, r = o⊙tanh(c) before the projection: [steps·batch, Padded]."
                : $"∂L/∂h of layer {n} arriving from above: [steps·batch, Padded]."));
            if (Projects(n))
            {
                yield return Model($"_l{n}Projected", $"(rows + batchCapacity) * {L}Padded", $"Layer {n}'s h = W_hr·r per slot: [(steps + 1)·batch, Padded] (slot 0 the initial state; Projection columns used).");
                yield return BackwardOnly(Model($"_l{n}ProjectedGradient", $"rows * {L}Padded", $"∂L/∂h of layer {n} arriving from above, then with step t + 1's part: [steps·batch, Padded]."));
                yield return BackwardOnly(Constant($"_l{n}ProjectionTransposed", $"{L}ProjectionShape.Transposed.Length", $"Layer {n}'s W_hr packed transposed (∂r = ∂h·W_hr)."));
            }
            if (Reverse(n))
            {
                yield return Model($"_l{n}Joined", $"rows * {L}JoinedPadded",
                    $"Layers {n - 1} and {n} (one bidirectional layer) joined in the sequence's order, [h_forward(t), h_reverse(t)]: [steps·batch, JoinedPadded].");
                yield return BackwardOnly(Model($"_l{n}JoinedGradient", $"rows * {L}JoinedPadded", $"∂L/∂ of that joined output arriving from above: [steps·batch, JoinedPadded]."));
            }
            yield return BackwardOnly(Constant($"_l{n}RecurrentTransposed", $"{L}RecurrentShape.Transposed.Length",
                $"Layer {n}'s U packed transposed at the start of each backward pass, so ∂h = ∂a·U runs as a forward-style product."));
            if (layer.Cell == CellKind.GruResetBefore)
                yield return BackwardOnly(Constant($"_l{n}CandidateTransposed", $"{L}RecurrentShape.Transposed.Length", $"Layer {n}'s U_n packed transposed (∂(r⊙h) of the candidate)."));
            if (NeedsInputGradient(n))
                yield return BackwardOnly(Constant($"_l{n}InputTransposed", $"{L}InputShape.Transposed.Length", $"Layer {n}'s W packed transposed (∂x = ∂a·W)."));
        }

        /// <summary>The dropout family's and zoneout's sites of a layer and the dropped copies its products read: masks
        /// are regenerated in backward, never stored.</summary>
        private IEnumerable<Buffer> LayerMaskBuffers(int n)
        {
            var layer = _m.Layers[n];
            string L = $"L{n}";
            if (layer.InputDropout is not null)
            {
                yield return Site($"_l{n}InputMask", "DropoutSite", $"Dropout on layer {n}'s input, for the current pass.");
                yield return Model($"_l{n}Dropped", $"rows * {InputStride(n)}", $"Layer {n}'s input after its dropout mask: what its input product reads.");
            }
            if (layer.RecurrentDropout is not null)
            {
                yield return Site($"_l{n}RecurrentMask", "DropoutSite", $"Recurrent dropout on layer {n}'s h(t−1), one mask per sequence.");
                yield return Model($"_l{n}RecurrentDropped", $"rows * {L}Padded", $"Layer {n}'s h̃(t−1) = h(t−1)⊙m/(1 − p) per step, the recurrent product's input: [steps·batch, Padded].");
            }
            if (layer.Zoneout is not null)
            {
                yield return Site($"_l{n}ZoneoutMask", "ZoneoutSite", $"Zoneout of layer {n}'s h.");
                yield return Model($"_l{n}Zoneout", $"batchCapacity * {L}Padded", $"Layer {n}'s κ_h of the current step: [batch, Padded] (1 keeps h(t−1) in training; the rate at inference).");
            }
            if (layer.CellZoneout is not null)
            {
                yield return Site($"_l{n}CellZoneoutMask", "ZoneoutSite", $"Zoneout of layer {n}'s c.");
                yield return Model($"_l{n}CellZoneout", $"batchCapacity * {L}Padded", $"Layer {n}'s κ_c of the current step: [batch, Padded].");
                yield return Model($"_l{n}CellCandidate", $"rows * {L}Padded", $"Layer {n}'s c̃(t) = f⊙c(t−1) + i⊙g before zoneout: [steps·batch, Padded].");
            }
            if (layer.WeightDrop is not null)
            {
                yield return Site($"_l{n}WeightMask", "DropoutSite", $"Weight drop on layer {n}'s weight_hh, one mask per pass.");
                yield return Constant($"_l{n}DroppedWeights", $"{L}RecurrentShape.Length", $"Layer {n}'s weight_hh⊙M/(1 − p) for the current pass (what its products read).");
                yield return BackwardOnly(Constant($"_l{n}DroppedWeightGradient", $"{L}RecurrentShape.Length", $"∂L/∂(layer {n}'s dropped weight_hh)."));
            }
            if (layer.CandidateDropout is not null)
            {
                yield return Site($"_l{n}CandidateSite", "DropoutSite", $"Candidate dropout (Semeniuta) of layer {n}.");
                yield return Model($"_l{n}CandidateMask", $"batchCapacity * {L}Padded", $"Layer {n}'s candidate mask for the whole sequence: [batch, Padded] (all 1 when it does not drop).");
            }
        }

        /// <summary>Layer and recurrent batch normalization's saved values, and batch normalization of the output.</summary>
        private IEnumerable<Buffer> LayerNormalizationBuffers(int n)
        {
            var layer = _m.Layers[n];
            string L = $"L{n}";
            if (layer.Normalized)
            {
                // layer norm: one rstd per row; recurrent batch norm: one per step and unit
                bool ln = layer.LayerNorm;
                string what = ln ? "Layer normalization" : "Recurrent batch normalization";
                string rstd = ln ? "each row's 1/√(σ² + ε): [steps·batch]" : "each step's 1/√(σ² + ε) per unit: [steps, Row]";
                yield return Model($"_l{n}InputNormalized", $"rows * {L}Row", $"{what} of layer {n}: x̂ of W·x, [steps·batch, Row].");
                yield return Model($"_l{n}InputRstd", ln ? "rows" : $"sequenceCapacity * {L}Row", $"{what} of layer {n}: x̂'s {rstd}.");
                yield return Model($"_l{n}RecurrentNormalized", $"rows * {L}Row", $"{what} of layer {n}: ĥ of U·h, [steps·batch, Row].");
                yield return Model($"_l{n}RecurrentRstd", ln ? "rows" : $"sequenceCapacity * {L}Row", $"{what} of layer {n}: ĥ's {rstd}.");
                if (layer.Cell == CellKind.Lstm)
                {
                    yield return Model($"_l{n}CellNormalized", $"rows * {L}Padded", $"{what} of layer {n}: ĉ of c̃, [steps·batch, Padded].");
                    yield return Model($"_l{n}CellRstd", ln ? "rows" : $"sequenceCapacity * {L}Padded", $"{what} of layer {n}: ĉ's {(ln ? "each row's 1/√(σ² + ε): [steps·batch]" : "each step's 1/√(σ² + ε) per unit: [steps, Padded]")}.");
                }
            }
            if (layer.OutputBatchNorm)
            {
                yield return Model($"_l{n}Output", $"rows * {L}Padded", $"Layer {n}'s output batch-normalized over batch × time: [steps·batch, Padded].");
                yield return Constant($"_l{n}BatchMean", $"{L}Padded", $"The per-unit mean layer {n}'s output was normalized with (the batch's in training, the running one at inference).");
                yield return Constant($"_l{n}BatchRstd", $"{L}Padded", $"The per-unit rstd layer {n}'s output was normalized with.");
            }
        }

        /// <summary>A layer's part of a streaming State: its state, and the scratch of one step.</summary>
        private IEnumerable<Buffer> LayerStateBuffers(int n)
        {
            var layer = _m.Layers[n];
            string L = $"L{n}";
            yield return State($"Layer{n}Hidden", $"batch * {L}Padded", $"Layer {n}'s h: [batch, Padded].", mutable: true);
            yield return State($"Layer{n}HiddenNext", $"batch * {L}Padded", $"Layer {n}'s h being computed (swapped with Layer{n}Hidden after the step).", mutable: true);
            if (Projects(n))
                yield return State($"Layer{n}Raw", $"batch * {L}Padded", $"Layer {n}'s r = o⊙tanh(c) of the step, before the projection.");
            yield return State($"Layer{n}Gates", $"batch * {L}Row", $"Layer {n}'s gates of the step: [batch, Row].");
            if (layer.Cell == CellKind.Lstm)
                yield return State($"Layer{n}Cell", $"batch * {L}Padded", $"Layer {n}'s c: [batch, Padded].");
            else
            {
                yield return State($"Layer{n}Recurrent", $"batch * {L}Row", $"Layer {n}'s recurrent product of the step: [batch, Row].");
                yield return State($"Layer{n}Aux", $"batch * {L}Padded", layer.Cell == CellKind.GruResetAfter ? $"Layer {n}'s U_n·h(t−1) + b_hn." : $"Layer {n}'s r⊙h(t−1).");
            }
            if (layer.Zoneout is not null)
                yield return State($"Layer{n}Zoneout", $"batch * {L}Padded", $"Layer {n}'s κ_h at inference (the rate).");
            if (layer.CandidateDropout is not null)
                yield return State($"Layer{n}Ones", $"batch * {L}Padded", $"Layer {n}'s candidate mask at inference: all 1.", fill: "1f");
            if (layer.CellZoneout is not null)
            {
                yield return State($"Layer{n}CellZoneout", $"batch * {L}Padded", $"Layer {n}'s κ_c at inference (the rate).");
                yield return State($"Layer{n}CellCandidate", $"batch * {L}Padded", $"Layer {n}'s c̃ before zoneout.");
            }
            if (layer.OutputBatchNorm)
            {
                yield return State($"Layer{n}Output", $"batch * {L}Padded", $"Layer {n}'s output normalized with the running statistics.");
                yield return State($"Layer{n}OutputRstd", $"{L}Padded", $"Scratch: the running rstd of layer {n}'s output.");
            }
            if (layer.Normalized)
            {
                // layer norm: one rstd per row; recurrent batch norm: one per unit (of this time index)
                bool ln = layer.LayerNorm;
                yield return State($"Layer{n}InputNormalized", $"batch * {L}Row", $"Layer {n}'s x̂ of the step.");
                yield return State($"Layer{n}InputRstd", ln ? "batch" : $"{L}Row", $"Layer {n}'s x̂ rstd ({(ln ? "per row" : "per unit")}).");
                yield return State($"Layer{n}RecurrentRstd", ln ? "batch" : $"{L}Row", $"Layer {n}'s ĥ rstd ({(ln ? "per row" : "per unit")}).");
                if (!ln)
                    yield return State($"Layer{n}Mean", $"{L}Row", $"Scratch: a running mean of layer {n}.");
                if (layer.Cell == CellKind.Lstm)
                {
                    yield return State($"Layer{n}RecurrentNormalized", $"batch * {L}Row", $"Layer {n}'s ĥ of the step.");
                    yield return State($"Layer{n}CellNormalized", $"batch * {L}Padded", $"Layer {n}'s ĉ of the step.");
                    yield return State($"Layer{n}CellRstd", ln ? "batch" : $"{L}Padded", $"Layer {n}'s ĉ rstd ({(ln ? "per row" : "per unit")}).");
                }
            }
        }

        // ---- shared by the layers ------------------------------------------------------------------------------

        private IEnumerable<Buffer> SharedBuffers()
        {
            if (_m.Layers.Any(l => l.RecurrentDropout is not null && l.Cell != CellKind.Lstm))
                yield return BackwardOnly(Model("_droppedHiddenGradient", "batchCapacity * MaxPadded", "∂L/∂h̃(t−1) of a GRU step with recurrent dropout, before its mask: [batch, MaxPadded]."));
            if (_m.Layers.Any(l => l.HasZoneout))
                yield return Model("_noZoneout", "batchCapacity * MaxPadded", "κ = 0 (no zoneout) for a step whose rate is 0: read, never written.");
            if (_m.HasStatistics)
            {
                yield return Constant("_statistics", "StatisticCount", "Running means and variances of the batch normalizations (not trained by gradient; checkpoints carry them).") with { InShard = BufferInShard.Parents };
                int widest = _m.Layers.Max(l => System.Math.Max(l.OutputBatchNorm ? Pad(l.Hidden) : 0, l.RecurrentBatchNorm ? Gates(l.Cell) * Pad(l.Hidden) : 0));
                yield return Constant("_normScratch", N(2 * widest), "The per-column sums of the batch normalizations' backward passes.");
            }
            if (_m.Layers.Any(l => l.RecurrentBatchNorm))
                yield return Constant("_normMean", N(_m.Layers.Where(l => l.RecurrentBatchNorm).Max(l => Gates(l.Cell) * Pad(l.Hidden))),
                    "Scratch of the recurrent batch normalizations: one step's batch mean.");
            yield return Model("_hiddenCarry", "batchCapacity * MaxPadded", "Backward's carry from step t to t − 1: ∂L/∂h, [batch, MaxPadded].");
            if (_m.Layers.Any(l => l.Cell == CellKind.Lstm))
                yield return Model("_cellCarry", "batchCapacity * MaxPadded", "Backward's carry of ∂L/∂c (LSTM): [batch, MaxPadded].");
            if (_m.Layers.Any(l => l.Cell == CellKind.GruResetBefore || (l.Cell == CellKind.Lstm && l.Normalized)))
                yield return BackwardOnly(Model("_auxGradient", "batchCapacity * MaxPadded",
                    "Backward's ∂L/∂(r⊙h) (classic GRU) or ∂ of ĉ's affine output (normalized LSTM): [batch, MaxPadded]."));
            if (SplitsAnyRecurrence)
                yield return new Buffer("_recurrence", BufferOwner.Model, null, "The recurrence the pool's threads share (created when a pool of more than one thread is set).",
                    FieldType: "RecurrenceWork?", Mutable: true);
            yield return new Buffer("_outerScratch", BufferOwner.Model, "OuterScratchPart",
                "Scratch of the weight-gradient products, OuterScratchPart floats for each thread of the pool (a transposed slab of inputs and packed gradient columns).",
                BufferSizing.Constant, Mutable: true);
        }

        /// <summary>The largest <c>OuterScratchLength</c> of the model's matrices, as an expression.</summary>
        private string OuterScratchPart()
        {
            string scratch = _m.HasHead ? "global::FastRnn.Kernels.InterleavedKernels.OuterScratchLength(HeadShape)" : "0";
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                scratch = $"global::System.Math.Max({scratch}, global::System.Math.Max(global::FastRnn.Kernels.InterleavedKernels.OuterScratchLength(L{n}InputShape), global::FastRnn.Kernels.InterleavedKernels.OuterScratchLength(L{n}RecurrentShape)))";
                if (Projects(n))
                    scratch = $"global::System.Math.Max({scratch}, global::FastRnn.Kernels.InterleavedKernels.OuterScratchLength(L{n}ProjectionShape))";
            }
            return scratch;
        }

        // ---- the head -----------------------------------------------------------------------------------------

        private IEnumerable<Buffer> HeadBuffers()
        {
            string headRows = EveryStep ? "rows" : "batchCapacity";
            var lengths = Model("_lengths", "batchCapacity", "Per-row lengths of the last Forward that was given them.") with { ElementType = "int" };
            string rowsDoc = EveryStep ? "steps·batch" : "batch";
            if (!_m.HasHead)
            {
                yield return lengths;
                foreach (var gathered in GatheredBuffers())
                    yield return gathered;
                yield return Model("_outputs", $"{headRows} * HeadPadded", $"The outputs, the top layer's states: [{rowsDoc}, HeadPadded].");
                yield return BackwardOnly(Model("_logitGradient", $"{headRows} * HeadPadded", $"∂L/∂outputs from the caller: [{rowsDoc}, HeadPadded]."));
                yield break;
            }
            if (_m.HeadDropout is not null)
            {
                yield return Site("_headMask", "DropoutSite", "Dropout on the head's input.");
                yield return Model("_headDropped", $"{headRows} * {OutputStride(Top)}", "The head's input after its dropout mask.");
            }
            yield return BackwardOnly(Constant("_headTransposed", "HeadShape.Transposed.Length", "The head's W packed transposed (∂h = ∂logits·W)."));
            yield return lengths;
            foreach (var gathered in GatheredBuffers())
                yield return gathered;
            yield return Model("_logits", $"{headRows} * HeadPadded", "Head logits: [head rows, HeadPadded].");
            yield return Model("_outputs", $"{headRows} * HeadPadded", "Head outputs after the activation: [head rows, HeadPadded].");
            yield return BackwardOnly(Model("_logitGradient", $"{headRows} * HeadPadded", "∂L/∂logits: [head rows, HeadPadded]."));
            yield return State("Logits", "batch * HeadPadded", "The step's head logits: [batch, HeadPadded].");
            yield return State("Outputs", "batch * HeadPadded", "The step's head outputs: [batch, HeadPadded].");
        }

        /// <summary>A last-step readout's rows gathered from each row's last real step (and both directions' final states), and their gradient.</summary>
        private IEnumerable<Buffer> GatheredBuffers()
        {
            if (EveryStep)
                yield break;
            yield return Model("_headGathered", $"batchCapacity * {OutputStride(Top)}", "The rows the readout gathered at each row's last real step: [batch, top Padded].");
            yield return BackwardOnly(Model("_headGatheredGradient", $"batchCapacity * {OutputStride(Top)}", "Their gradient: [batch, top Padded]."));
        }

        // ---- writing the plan ------------------------------------------------------------------------------------

        /// <summary>The fields of <paramref name="owner"/>'s buffers, each under its comment; a model buffer of constant
        /// size is allocated where it is declared.</summary>
        private void EmitBufferFields(BufferOwner owner)
        {
            string access = owner == BufferOwner.Model ? "private" : "internal";
            foreach (var buffer in Buffers.Where(b => b.Owner == owner))
            {
                _w.Line("// " + buffer.Comment);
                string modifiers = buffer.Mutable ? access : access + " readonly";
                string initializer = !buffer.AllocatedByConstructor(SplitsInference) && buffer.Allocation is { } allocation ? " = " + allocation : "";
                _w.Line($"{modifiers} {buffer.Type} {buffer.Name}{initializer};");
            }
        }

        /// <summary>The constructor's allocations of <paramref name="owner"/>'s buffers sized by capacity (or, for a
        /// state, by its batch) and, where the model has <paramref name="shards"/>, of the buffers a shard takes from
        /// its parent or leaves empty; and their initial fills.</summary>
        private void EmitBufferAllocations(BufferOwner owner, bool shards = false)
        {
            foreach (var buffer in Buffers.Where(b => b.Owner == owner && b.AllocatedByConstructor(shards)))
            {
                _w.Line(shards ? buffer.ModelAssignment : $"{buffer.Name} = {buffer.Allocation};");
                if (buffer.Fill is { } value)
                    _w.Line($"global::System.Array.Fill({buffer.Name}, {value});");
            }
        }
    }
}
