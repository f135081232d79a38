namespace FastRnn.Generators;

// LSTM projections (PyTorch proj_size, issue 11): a projected layer keeps Hidden units (gates, c, and r(t) = o⊙tanh(c(t))
// in _l{n}Hidden) and a state h(t) = W_hr·r(t) of Projection units in _l{n}Projected, which the recurrent product, the
// layer above, the head and the State read. h's rows keep the layer's Padded stride (Projection < Hidden), so every
// buffer, carry and state row is laid out as an unprojected layer's, its columns from Projection on zero. The
// recurrence of a projected layer runs on one thread: each step would need a second barrier (W_hr reads all of r(t)).
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        private bool Projects(int n) => _m.Layers[n].Projection > 0;

        /// <summary>The width of layer n's state h: its projection's or its units'.</summary>
        private string StateWidth(int n) => Projects(n) ? $"L{n}Projection" : $"L{n}Hidden";

        /// <summary>Layer n's h per slot ([(steps + 1)·batch, Padded], slot 0 the initial state).</summary>
        private string StateBuffer(int n) => Projects(n) ? $"_l{n}Projected" : $"_l{n}Hidden";

        /// <summary>∂L/∂h of layer n as the layer above (or the head) writes it.</summary>
        private string StateGradient(int n) => Projects(n) ? $"_l{n}ProjectedGradient" : $"_l{n}HiddenGradient";

        /// <summary>A projected layer's constants after its biases: the projection's size and weight_hr's place.</summary>
        private int EmitProjectionConstants(int n, int offset)
        {
            if (!Projects(n))
                return offset;
            var layer = _m.Layers[n];
            _w.Line("// Projection (proj_size): h(t) = W_hr·r(t), r(t) = o⊙tanh(c(t)); weight_hr [Projection, Hidden] gate-interleaved");
            _w.Line("// with one gate; h's rows keep the layer's Padded stride.");
            _w.Line($"private const int L{n}Projection = {N(layer.Projection)};");
            _w.Line($"private const int L{n}ProjectionBlocks = {N(Pad(layer.Projection) / 16)};");
            _w.Line($"private const int L{n}ProjectionWeights = {N(offset)};");
            _w.Line($"private static global::FastRnn.Kernels.InterleavedShape L{n}ProjectionShape => new(L{n}Hidden, 1, L{n}ProjectionBlocks);");
            return offset + Pad(layer.Projection) * layer.Hidden;
        }

        /// <summary>Forward, after r(t) is in <paramref name="raw"/>: h(t) = W_hr·r(t) into <paramref name="target"/>.</summary>
        private string ProjectForward(int n, string raw, string target, string rows) => !Projects(n) ? "" : Lines(
            $"// h(t) = W_hr·r(t), r(t) = o⊙tanh(c(t))",
            $"{Span} projected = {target};",
            "projected.Clear();",
            _quantizing
                ? $"_l{n}Projection.MultiplyAdd<T>({raw}, L{n}Padded, {rows}, projected, L{n}Padded, state.QuantizedScratch);"
                : $"{Kernels}.MultiplyAdd<T>({raw}, L{n}Padded, {rows}, p.Slice(L{n}ProjectionWeights, L{n}ProjectionShape.Length), L{n}ProjectionShape, 0, 1, projected, L{n}Padded);");

        /// <summary>Backward, at the top of step t of a projected layer (one thread): ∂h(t) gathers the gradient from above
        /// and from step t + 1 (the carry), and the cell reads ∂r(t) = W_hrᵀ·∂h(t) as its ∂h from above.</summary>
        internal string ProjectBackwardStep(int n) => !Projects(n) ? "" : "\n" + Lines(
            "// h(t) = W_hr·r(t):  ∂h(t) = ∂h(t) from above + from step t + 1 (kept for ∂W_hr);  ∂r(t) = W_hrᵀ·∂h(t)",
            $"{Span} dProjected = _l{n}ProjectedGradient.AsSpan(now * L{n}Padded, batch * L{n}Padded);",
            "global::System.Numerics.Tensors.TensorPrimitives.Add(dProjected, dHidden, dProjected);",
            "dHidden.Clear();",
            $"{Span} dRaw = dAbove.Slice(now * L{n}Padded, batch * L{n}Padded);",
            "dRaw.Clear();",
            $"{Kernels}.MultiplyAdd<T>(dProjected, L{n}Padded, batch, _l{n}ProjectionTransposed, L{n}ProjectionShape.Transposed, 0, 1, dRaw, L{n}Padded);");

        /// <summary>Backward, after a projected layer's steps: ∂W_hr += Σ_t ∂h(t)ᵀ·r(t).</summary>
        private string ProjectionWeightGradient(int n) => !Projects(n) ? "" : Lines(
            "// h(t) = W_hr·r(t):  ∂W_hr += Σ_t ∂h(t)ᵀ·r(t)",
            $"{Kernels}.AccumulateOuter<T>(_pool, _l{n}Hidden.AsSpan(batch * L{n}Padded, rows * L{n}Padded), L{n}Padded, rows, _l{n}ProjectedGradient.AsSpan(0, rows * L{n}Padded), L{n}Padded,",
            $"    grad.Slice(L{n}ProjectionWeights, L{n}ProjectionShape.Length), L{n}ProjectionShape, 0, 1, _outerScratch);");
    }
}
