using System.Collections.Generic;

namespace FastRnn.Generators;

// A model as a piece of a larger one (issue 11): backward from a caller's gradient of the outputs (and of the final
// states), and the gradients it hands back, of the initial states and of the inputs.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>What composition keeps: each layer's ∂L/∂(initial h, c) from the last backward, and for a dense input
        /// the buffers of ∂L/∂x (a token model has them for its embedding already).</summary>
        private IEnumerable<Buffer> CompositionBuffers()
        {
            for (int n = 0; n < _m.Layers.Count; n++)
            {
                yield return BackwardOnly(Model($"_l{n}InitialHiddenGradient", $"batchCapacity * L{n}Padded", $"∂L/∂h(−1) of layer {n} from the last backward: [batch, Padded]."));
                if (_m.Layers[n].Cell == CellKind.Lstm)
                    yield return BackwardOnly(Model($"_l{n}InitialCellGradient", $"batchCapacity * L{n}Padded", $"∂L/∂c(−1) of layer {n} from the last backward: [batch, Padded]."));
            }
            if (!Tokens)
            {
                yield return BackwardOnly(Model("_inputGradient", "rows * InputPadded", "∂L/∂x of the last backward, made by CopyInputGradient: [steps·batch, InputPadded]."));
                for (int n = 0; n < _m.Layers.Count && ReadsModelInput(n); n++)
                    yield return BackwardOnly(Constant($"_l{n}InputTransposed", $"L{n}InputShape.Transposed.Length", $"Layer {n}'s W packed transposed by each backward, for CopyInputGradient (∂x = ∂a·W)."));
            }
        }

        /// <summary>Backward at the start of layer n's steps: the carries from "step T" are ∂L/∂(final h, c) when the
        /// caller gave them, else zero.</summary>
        private string StartCarry(int n, string carry, string field) =>
            $"global::FastRnn.Kernels.StateGradients.Load(_useLengths ? null : _finalStateGradient?.Layer{n}{field}, {carry}, L{n}Padded, {FieldWidth(n, field)}, batch);";

        /// <summary>The real width of a state field's rows: h's (a projection's, or the units'), or c's (the units').</summary>
        private string FieldWidth(int n, string field) => field == "Hidden" ? StateWidth(n) : $"L{n}Hidden";

        /// <summary>Backward, at the top of step t of layer n (a line to append after <c>int now = …;</c>): under per-row
        /// lengths, the caller's ∂L/∂(final h, c) of the rows whose last real step this is joins the carries, for the
        /// units <paramref name="units"/> (<c>"start, end"</c>).</summary>
        private string InjectFinalGradient(int n, string units, bool cell, bool byRows = false)
        {
            // a call over a range of rows (byRows) injects its rows' gradients into its rows' carries
            string rows = byRows ? $".AsSpan(rowStart * L{n}Padded)" : "", lengths = byRows ? "_lengths.AsSpan(rowStart, count)" : "_lengths.AsSpan(0, batch)";
            string Inject(string field, string carry) =>
                $"\n    global::FastRnn.Kernels.StateGradients.Inject(_finalStateGradient.Layer{n}{field}{rows}, {carry}, L{n}Padded, {FieldWidth(n, field)}, {lengths}, t, {units});";
            return $"\nif (_useLengths && _finalStateGradient is not null)\n{{{Inject("Hidden", "dHidden")}{(cell && _m.Layers[n].Cell == CellKind.Lstm ? Inject("Cell", "dCell") : "")}\n}}";
        }

        /// <summary>Backward at the end of layer n's steps: the carries are ∂L/∂(initial h, c); keep them.</summary>
        private string KeepInitialGradient(int n) =>
            $"dHidden.CopyTo(_l{n}InitialHiddenGradient);" +
            (_m.Layers[n].Cell == CellKind.Lstm ? $"\n_cellCarry.AsSpan(0, batch * L{n}Padded).CopyTo(_l{n}InitialCellGradient);" : "");

        private void EmitComposition()
        {
            string rows = EveryStep ? "_steps * _batch" : "_batch";
            string kind = _m.Activation switch
            {
                HeadActivation.Sigmoid => "Sigmoid",
                HeadActivation.Softmax => "Softmax",
                _ => "Identity",
            };
            _w.Lines($$"""
                // ---- Composition: backward from the caller's gradients, and the gradients handed back ----

                private State? _finalStateGradient;
                private bool _hasBackward;

                /// <summary>Backpropagates a caller's loss instead of the built-in one: <paramref name="outputGradient"/> is
                /// ∂L/∂outputs for every output the last <see cref="Forward"/> produced (under per-row lengths, padded steps' are ignored) ({{(EveryStep ? "[steps, batch, OutputSize]" : "[batch, OutputSize]")}}, as
                /// <c>Output</c> reads them), taken back through the head's activation; <paramref name="finalStateGradient"/>,
                /// when given, holds ∂L/∂(final h, c) of every layer (a <see cref="State"/> of the batch used as a container),
                /// for a final state that went on to another model (under per-row lengths, each row's state after its own last
                /// real step, where its gradient joins). Adds to <see cref="Gradients"/>; afterwards
                /// <see cref="CopyInitialStateGradient"/>{{(Tokens ? "" : " and <see cref=\"CopyInputGradient\"/>")}} hand back what the initial states{{(Tokens ? "" : " and the inputs")}} received. The built-in
                /// loss's extras (activation penalties) take no part.</summary>
                public void Backward(global::System.ReadOnlySpan<float> outputGradient, State? finalStateGradient = null)
                {
                    if (!_hasForward)
                        throw new global::System.InvalidOperationException("Call Forward before Backward.");
                    int rows = {{rows}};
                    if (outputGradient.Length != rows * OutputSize)
                        throw new global::System.ArgumentException(
                            $"Backward expects {rows * OutputSize} output gradients ({rows} rows × {OutputSize} outputs); got {outputGradient.Length}.", nameof(outputGradient));
                    if (finalStateGradient is not null && finalStateGradient.Batch != _batch)
                        throw new global::System.ArgumentException($"The final-state gradient holds {finalStateGradient.Batch} rows; the last Forward ran {_batch}.", nameof(finalStateGradient));
                """);
            if (_m.HasActivationPenalty)
                _w.Lines("""
                            _activationCoefficient = 0f;
                            _temporalCoefficient = 0f;
                    """);
            _w.Lines($$"""
                    // y = activation(logits):  ∂logits from ∂y
                    global::FastRnn.Kernels.LossKernels.OutputGradient(global::FastRnn.Kernels.LossKernels.Activation.{{kind}}, _outputs, HeadPadded, rows, OutputSize, outputGradient, _logitGradient);{{(EveryStep ? "\n// under per-row lengths, padded steps take no gradient, whatever the caller gave them\nif (_useLengths)\n    global::FastRnn.Kernels.LossKernels.ClearPaddedRows(_logitGradient, HeadPadded, rows, new global::FastRnn.Kernels.RealRows(_lengths.AsSpan(0, _batch)));" : "")}}
                    _finalStateGradient = finalStateGradient;
                    {{UnshardCall}}
                    try
                    {
                        if (_wide) BackwardCore<global::FastRnn.Kernels.Block512>(_batch, _steps);
                        else BackwardCore<global::FastRnn.Kernels.Block256>(_batch, _steps);
                    }
                    finally
                    {
                        _finalStateGradient = null;
                    }
                    {{ForgetLoss}}
                    _hasBackward = true;
                }

                /// <summary>Copies ∂L/∂(initial h, c) of every layer from the last backward into <paramref name="gradient"/> (a
                /// <see cref="State"/> of the batch used as a container): for a state carried in from a previous segment or
                /// handed over by another model (an encoder), the gradient to backpropagate there.</summary>
                public void CopyInitialStateGradient(State gradient)
                {
                    global::System.ArgumentNullException.ThrowIfNull(gradient);
                    if (!_hasBackward)
                        throw new global::System.InvalidOperationException("Call Backward before CopyInitialStateGradient.");
                    if (gradient.Batch != _batch)
                        throw new global::System.ArgumentException($"The gradient holds {gradient.Batch} rows; the last Backward ran {_batch}.", nameof(gradient));
                """);
            using (_w.Indent())
                for (int n = 0; n < _m.Layers.Count; n++)
                {
                    _w.Line($"_l{n}InitialHiddenGradient.AsSpan(0, _batch * L{n}Padded).CopyTo(gradient.Layer{n}Hidden);");
                    if (_m.Layers[n].Cell == CellKind.Lstm)
                        _w.Line($"_l{n}InitialCellGradient.AsSpan(0, _batch * L{n}Padded).CopyTo(gradient.Layer{n}Cell);");
                }
            _w.Line("}");
            _w.Line();
            if (Tokens)
                return;
            _w.Lines($$"""
                /// <summary>Writes ∂L/∂inputs of the last backward, [steps, batch, InputSize] as <see cref="Forward"/> took them, into
                /// <paramref name="destination"/>: ∂x(t) = W_ihᵀ·∂a(t) of the first layer{{(_m.Layers[0].InputDropout is null ? "" : ", through its input dropout")}}. Computed on demand (one
                /// product over every step), so a backward that does not need it does not pay for it.</summary>
                public void CopyInputGradient(global::System.Span<float> destination)
                {
                    if (!_hasBackward)
                        throw new global::System.InvalidOperationException("Call Backward before CopyInputGradient.");
                    int batch = _batch, rows = _steps * batch;
                    if (destination.Length != rows * InputSize)
                        throw new global::System.ArgumentException($"CopyInputGradient writes {rows * InputSize} values ({_steps} steps × {_batch} rows × {InputSize} inputs); got room for {destination.Length}.", nameof(destination));
                    // W_ih as the backward found it (packed transposed there), whatever an optimizer did since
                    {{Span}} dBelow = _inputGradient.AsSpan(0, rows * InputPadded);
                """);
            // a bidirectional first layer: both directions read the input, the reverse one's share first, stored, then the
            // forward one's added (as backward does)
            int last = ForwardDirection(0) ? 1 : 0;
            using (_w.Indent())
                for (int n = last; n >= 0; n--)
                    foreach (string block in new[] { "512", "256" })
                        _w.Line($"{(block == "512" ? "if (_wide)" : "else")} {Kernels}." + (n == last
                            ? $"Multiply<global::FastRnn.Kernels.Block{block}>(_pool, _l{n}GateGradient.AsSpan(0, rows * L{n}Row), L{n}Row, rows, _l{n}InputTransposed, L{n}InputShape.Transposed, dBelow, InputPadded, batch);"
                            : $"MultiplyAdd<global::FastRnn.Kernels.Block{block}>(_pool, _l{n}GateGradient.AsSpan(0, rows * L{n}Row), L{n}Row, rows, _l{n}InputTransposed, L{n}InputShape.Transposed, 0, 1, dBelow, InputPadded);"));
            using (_w.Indent())
                EmitInputDropoutBackward(0, "dBelow", "InputPadded");
            _w.Lines("""
                    for (int i = 0; i < rows; i++)
                        dBelow.Slice(i * InputPadded, InputSize).CopyTo(destination.Slice(i * InputSize, InputSize));
                }

                """);
        }
    }
}
