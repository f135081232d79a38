using System.Linq;

namespace FastRnn.Generators;

internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>The cell of <paramref name="n"/>: the emitter that writes that layer's step for a batch
        /// (<c>AdvanceLayer{n}</c>), its fused batch-1 step and its backward through time.</summary>
        private CellEmitter Cell(int n) => _m.Layers[n] switch
        {
            { Cell: CellKind.Lstm, Normalized: true } => new NormalizedLstmCell(this, n),
            { Cell: CellKind.Lstm } => new LstmCell(this, n),
            { Cell: CellKind.GruResetAfter } => new GruCell(this, n),
            _ => new ClassicGruCell(this, n),
        };

        /// <summary>
        /// One recurrent cell's code, written for layer <c>n</c>: each cell (LSTM, layer-/batch-normalized LSTM, GRU with
        /// the reset after its product — normalized or not —, classic GRU) is a subclass in its own file, with its forward
        /// step, its batch-1 step and its backward step side by side. The phase methods of <see cref="ModelEmitter"/> loop
        /// over the layers and ask the cell; what regularizers change in a cell's update comes from the named hooks
        /// below (the zoneout and candidate-mask parameters, the recurrent input under recurrent dropout, the weights
        /// under weight drop) and from <see cref="BackwardHooks"/>.
        /// </summary>
        private abstract class CellEmitter
        {
            protected readonly ModelEmitter E;
            protected readonly ModelSpec _m;
            protected readonly CodeWriter _w;
            protected readonly int n;
            protected readonly LayerSpec layer;
            /// <summary>The layer's constant prefix, <c>L{n}</c>.</summary>
            protected readonly string L;

            protected CellEmitter(ModelEmitter emitter, int layerIndex)
            {
                E = emitter;
                _m = emitter._m;
                _w = emitter._w;
                n = layerIndex;
                layer = _m.Layers[n];
                L = $"L{n}";
            }

            /// <summary><c>AdvanceLayer{n}</c>: one step for a batch of rows, once the gates hold their input part
            /// (shared by the sequence forward and the batched streaming step).</summary>
            public abstract void EmitAdvance();

            /// <summary>The batch-1 streaming step's own method, where the cell has one.</summary>
            public abstract void EmitStepSingle();

            /// <summary>The recurrence of <c>BackwardLayer{n}</c>, last step first, and the recurrent weights' gradients;
            /// the phase writes what comes before (buffers, masks) and after (the input side).</summary>
            public abstract void EmitBackwardSteps(BackwardHooks hooks);

            // ---- how the phases call the cell --------------------------------------------------------------------

            /// <summary>h(t−1) as the sequence forward passes it to <c>AdvanceLayer{n}</c>: <paramref name="hPrev"/> (the
            /// slot's span), or under recurrent dropout the locals <c>hPrev</c> and <c>hRecurrent</c> the cell reads.</summary>
            public virtual string ForwardPrevious(string hPrev) =>
                layer.RecurrentDropout is null ? hPrev : MaskedRecurrentInput ? "hPrev, hRecurrent" : "hPrev";

            /// <summary>The sequence forward's arguments of <c>AdvanceLayer{n}</c> after h(t): the cell's own state and
            /// scratch for step t (each ends with a comma).</summary>
            public abstract string ForwardState { get; }

            /// <summary>The streaming step's state arguments of <c>AdvanceLayer{n}</c> after h(t) (batched path).</summary>
            protected abstract string StepState { get; }

            /// <summary><c>StepCore</c>'s part for this layer: from <c>x</c> and the state's h(t−1) to
            /// <c>state.Layer{n}HiddenNext</c>. A plain cell takes its fused batch-1 method for one row and the batched
            /// matrix kernels for more.</summary>
            public virtual void EmitStepLayer()
            {
                if (E._quantizing)
                {
                    // the quantized products read the weights once per call at any batch: no fused float32 kernel
                    using (_w.Block(""))
                        _w.Lines(BatchedStep);
                    if (E.Projects(n))
                        using (_w.Block(""))
                            _w.Lines(E.ProjectForward(n, $"state.Layer{n}Raw", $"state.Layer{n}HiddenNext", "batch"));
                    return;
                }
                _w.Lines($$"""
                    if (batch == 1)
                        StepLayer{{n}}Single<T>(p, x, state.Layer{{n}}Hidden, {{StepTarget}}{{StepSingleState}}{{StepZoneRates}}{{(SplitsByBlocks ? $", state.Descending, 0, {L}Blocks" : "")}});
                    else
                    {
                        {{BatchedStep}}
                    }
                    """);
                if (E.Projects(n))
                    using (_w.Block(""))
                        _w.Lines(E.ProjectForward(n, $"state.Layer{n}Raw", $"state.Layer{n}HiddenNext", "batch"));
            }

            /// <summary>Where the streaming step's cell writes its h(t): the state's next h, or a projected layer's r(t).</summary>
            private string StepTarget => E.Projects(n) ? $"state.Layer{n}Raw" : $"state.Layer{n}HiddenNext";

            /// <summary>One thread's share of this layer's batch-1 step: the fused kernel over the blocks [start, end)
            /// (a layer without zoneout, whose kernel takes a block range).</summary>
            public string SharedStepCall(string x, string start, string end) =>
                $"StepLayer{n}Single<T>(p, {x}, state.Layer{n}Hidden, state.Layer{n}HiddenNext{StepSingleState}, state.Descending, {start}, {end});";

            /// <summary>One share of a batched streaming step (<c>StepShare</c>, batch above 1): this share's columns of
            /// the input product, bias first, then <c>AdvanceLayer{n}</c> over its blocks (its columns of U·h(t−1) and its
            /// units). The shares are whole column tiles (<c>ForwardGroup</c>), so every column is computed as in
            /// <see cref="BatchedStep"/>.</summary>
            public string SharedBatchStepCall(string x) => $$"""
                {
                    {{Span}} gates = state.Layer{{n}}Gates;
                    int first = start * {{L}}Gates * BlockWidth, width = (end - start) * {{L}}Gates * BlockWidth;
                    for (int r = 0; r < batch; r++)
                        p.Slice({{L}}InputBias + first, width).CopyTo(gates.Slice(r * {{L}}Row + first, width));
                    {{(E._quantizing
                        ? $"_l{n}Input.MultiplyAdd<T>({x}, {E.InputStride(n)}, batch, 0, {L}Gates, gates, {L}Row, start * {L}Gates, end * {L}Gates, scratch);"
                        : Code($$$"""
                            {{{Kernels}}}.MultiplyAdd<T>({{{x}}}, {{{E.InputStride(n)}}}, batch, p.Slice({{{L}}}InputWeights, {{{L}}}InputShape.Length), {{{L}}}InputShape, 0, {{{L}}}Gates,
                                gates, {{{L}}}Row, start * {{{L}}}Gates, end * {{{L}}}Gates, descending: false);
                            """))}}
                    {{StepAdvanceCall("start, end", "scratch")}}
                }
                """;

            /// <summary>The state <c>StepLayer{n}Single</c> takes after h(t) (an LSTM's c).</summary>
            protected virtual string StepSingleState => "";

            /// <summary>The streaming step for a batch: the input part of the gates as one product, then
            /// <c>AdvanceLayer{n}</c>.</summary>
            protected string BatchedStep => $$"""
                {{StepZoneFill}}{{Span}} gates = state.Layer{{n}}Gates;
                {{Kernels}}.BroadcastRows(p.Slice({{L}}InputBias, {{L}}Row), gates, {{L}}Row, batch);
                {{StepInputProduct("x", "gates")}}
                {{StepAdvanceCall(StepBlocks)}}
                """;

            /// <summary>The streaming step's input product W_ih·x(t), added to <paramref name="target"/>: float32, or in
            /// the quantized model its reduced-precision matrix.</summary>
            private string StepInputProduct(string x, string target) => E._quantizing
                ? $"_l{n}Input.MultiplyAdd<T>({x}, {E.InputStride(n)}, batch, {target}, {L}Row, state.QuantizedScratch);"
                : $"{Kernels}.MultiplyAdd<T>({x}, {E.InputStride(n)}, batch, p.Slice({L}InputWeights, {L}InputShape.Length), {L}InputShape, 0, {L}Gates, {target}, {L}Row);";

            /// <summary><c>AdvanceLayer{n}</c>'s last parameters: the quantized recurrent matrix and the int8 product's
            /// scratch, which only the quantized model passes (the float32 code reads the arena's matrix).</summary>
            protected const string QuantizedParameters = ", global::FastRnn.Kernels.QuantizedMatrix? quantized = null, global::System.Span<byte> scratch = default";

            /// <summary>Inside <c>AdvanceLayer{n}</c>: <paramref name="target"/> += U·<paramref name="input"/> for the gates
            /// <paramref name="gates"/> and the columns <paramref name="columns"/>, from the float32 arena or, when the
            /// quantized model passed one, from its reduced-precision matrix.</summary>
            protected string RecurrentProduct(string input, string gates, string target, string columns) => Code($$"""
                if (quantized is null)
                    {{Kernels}}.MultiplyAdd<T>({{input}}, {{L}}Padded, batch, {{RecurrentWeights}}, {{gates}}, {{target}}, {{L}}Row,
                        {{columns}}, descending);
                else
                    quantized.MultiplyAdd<T>({{input}}, {{L}}Padded, batch, {{gates}}, {{target}}, {{L}}Row, {{columns}}, scratch);
                """);

            /// <summary>The blocks argument(s) of the batched streaming step's <c>AdvanceLayer{n}</c> call, if it takes any.</summary>
            protected virtual string? StepBlocks => SplitsByBlocks ? $"0, {L}Blocks" : null;

            /// <summary>The streaming step's <c>AdvanceLayer{n}</c> call on the gates in <c>gates</c>, over the blocks
            /// <paramref name="blocks"/> (<c>"start, end"</c>) when the kernel takes a range.</summary>
            private string StepAdvanceCall(string? blocks, string scratch = "state.QuantizedScratch") =>
                $"AdvanceLayer{n}<T>(p,{(layer.WeightDrop is null ? "" : $" p.Slice({L}RecurrentWeights, {L}RecurrentShape.Length),")} gates, state.Layer{n}Hidden, " +
                $"{(MaskedRecurrentInput ? $"state.Layer{n}Hidden, " : "")}{StepTarget}, {StepState}, {StepZoneArguments}batch, descending: false{(blocks is null ? "" : ", " + blocks)}" +
                $"{(E._quantizing ? $", _l{n}Recurrent, {scratch}" : "")});";

            /// <summary>A normalized cell's streaming step: both products (fused at batch 1), normalized with the
            /// running statistics of this time index (recurrent batch norm) or per row (layer norm), then
            /// <c>AdvanceLayer{n}</c>.</summary>
            protected void EmitNormalizedStepLayer(string recurrentBuffer, string stateArguments)
            {
                using (_w.Block(""))
                    _w.Lines($$"""
                        {{StepZoneFill}}{{Span}} inputNormalized = state.Layer{{n}}InputNormalized, recurrentNormalized = {{recurrentBuffer}};
                        {{(E._quantizing ? "// W_ih·x and U·h(t−1), by the quantized matrices" : "// W_ih·x and U·h(t−1): one fused pass over the weights for one row, matrix products for more")}}
                        {{NormalizedStepProducts}}
                        // x̂, ĥ: {{(layer.LayerNorm ? "each row normalized over its Gates·Hidden values" : "each unit normalized with the running statistics of this time index")}}
                        {{E.NormalizeProducts(n, "Input", "inputNormalized", "batch", $"state.Layer{n}InputRstd", $"state.Layer{n}InputRstd", "time", "false", $"state.Layer{n}Mean")}}
                        {{E.NormalizeProducts(n, "Recurrent", "recurrentNormalized", "batch", $"state.Layer{n}RecurrentRstd", $"state.Layer{n}RecurrentRstd", "time", "false", $"state.Layer{n}Mean")}}
                        AdvanceLayer{{n}}<T>(p, inputNormalized, state.Layer{{n}}Gates, state.Layer{{n}}Hidden, state.Layer{{n}}HiddenNext, {{stateArguments}}, {{StepZoneArguments}}batch);
                        """);
            }

            /// <summary>A normalized cell's two products for the streaming step, each into its own buffer.</summary>
            private string NormalizedStepProducts => E._quantizing
                ? Code($$"""
                    inputNormalized.Clear();
                    recurrentNormalized.Clear();
                    {{StepInputProduct("x", "inputNormalized")}}
                    _l{{n}}Recurrent.MultiplyAdd<T>(state.Layer{{n}}Hidden, {{L}}Padded, batch, recurrentNormalized, {{L}}Row, state.QuantizedScratch);
                    """)
                : Code($$"""
                    if (batch == 1)
                        ProductsLayer{{n}}Single<T>(p, x, state.Layer{{n}}Hidden, inputNormalized, recurrentNormalized);
                    else
                    {
                        inputNormalized.Clear();
                        recurrentNormalized.Clear();
                        {{StepInputProduct("x", "inputNormalized")}}
                        {{Kernels}}.MultiplyAdd<T>(state.Layer{{n}}Hidden, {{L}}Padded, batch, p.Slice({{L}}RecurrentWeights, {{L}}RecurrentShape.Length), {{L}}RecurrentShape, 0, {{L}}Gates, recurrentNormalized, {{L}}Row);
                    }
                    """);

            /// <summary>Backward's steps run by <c>BackRecurLayer{n}</c>: on the pool's threads when they can share them.</summary>
            protected string RunBackwardShares => !E.SplitsBackwardRecurrence(n)
                ? $"BackRecurLayer{n}<T>(batch, steps, 0, {L}Blocks, null); // the steps, on this thread"
                : E.BackwardSharesCall(n);

            /// <summary><c>BackRecurLayer{n}</c>: backward through the steps for a range of unit blocks. Each share runs
            /// <paramref name="blockBody"/> for its blocks (κ of its units drawn first under zoneout), waits for every
            /// share, then runs <paramref name="product"/>: its units of ∂h(t−1) from every share's gate gradients
            /// through Uᵀ (<see cref="SharedProduct"/>).</summary>
            protected void EmitBackRecurLayer(string summary, string locals, string blockBody, string product)
            {
                string candidateMask = layer.CandidateDropout is null ? "" : $"{ReadOnlySpan} candidateMask = _l{n}CandidateMask.AsSpan(0, batch * {L}Padded);";
                _w.Lines($$"""
                    /// <summary>Backward through layer {{n}}'s steps, last first, for the unit blocks [<paramref name="blockStart"/>,
                    /// <paramref name="blockEnd"/>): every block on one thread, or one thread's share.
                    /// {{summary}}</summary>
                    {{NoInlining}}
                    private void BackRecurLayer{{n}}<T>(int batch, int steps, {{(ByRows ? "int rowStart, int rowEnd, " : "")}}int blockStart, int blockEnd, global::FastRnn.ComputeBarrier? barrier) {{BlockConstraint}}
                    {
                        int rows = steps * batch, width = (blockEnd - blockStart) * BlockWidth;
                        {{(ByRows ? "int count = rowEnd - rowStart; // the rows of each step this call runs" : "")}}
                        {{locals}}
                        {{candidateMask}}
                        for (int t = steps - 1; t >= 0; t--)
                        {
                            int now = t * batch{{(ByRows ? " + rowStart" : "")}};{{E.ZoneStep(n, "blockStart, blockEnd")}}{{E.InjectFinalGradient(n, "blockStart * BlockWidth, blockEnd * BlockWidth", cell: true, ByRows)}}{{E.ProjectBackwardStep(n)}}
                            for (int r = 0; r < {{Count}}; r++)
                            {
                                for (int j = blockStart; j < blockEnd; j++)
                                {
                                    {{blockBody}}
                                }
                            }
                            // every share's part of step t is in place before any share reads it
                            barrier?.SignalAndWait();
                            {{product}}
                        }
                    }

                    """);
            }

            /// <summary>This share's units of <paramref name="target"/> += Uᵀ·(<paramref name="rows"/> of step t, every share's).</summary>
            protected string SharedProduct(string rows, string target) => Code($$"""
                {{PrefetchShared($"{rows}.Slice(now * {L}Row, {Count} * {L}Row)", $"{L}Row", $"{L}Row", Count)}}
                {{Kernels}}.MultiplyAdd<T>({{rows}}.Slice(now * {{L}}Row, {{Count}} * {{L}}Row), {{L}}Row, {{Count}},
                    _l{{n}}RecurrentTransposed, {{L}}RecurrentShape.Transposed, 0, 1, {{target}}, {{L}}Padded, blockStart, blockEnd, Alternate(t));
                """);

            /// <summary>Clears this share's units of <paramref name="buffer"/> in every row of a step.</summary>
            protected string ClearShare(string buffer) => Lines($"for (int r = 0; r < {Count}; r++)",
                $"    {buffer}.Slice(r * {L}Padded + blockStart * BlockWidth, width).Clear();");

            /// <summary>Whether this layer's backward steps can also be split by rows of the batch (<c>SplitsBackwardByRows</c>):
            /// then <c>BackRecurLayer{n}</c> takes a range of rows too and runs <c>count</c> rows of each step from row
            /// <c>now</c>.</summary>
            protected bool ByRows => E.SplitsBackwardByRows(n);

            /// <summary>The rows of a step a backward call runs: <c>count</c> when it takes a range of rows, else the batch.</summary>
            protected string Count => ByRows ? "count" : "batch";

            /// <summary>A carry (∂h or ∂c from step t + 1, [batch, Padded]): this call's rows of <paramref name="buffer"/>.</summary>
            protected string Carry(string buffer) =>
                ByRows ? $"{buffer}.AsSpan(rowStart * {L}Padded, count * {L}Padded)" : $"{buffer}.AsSpan(0, batch * {L}Padded)";

            /// <summary>Under recurrent dropout, this share's units of <paramref name="buffer"/> times the sequence's mask.</summary>
            protected string MaskShare(string buffer) => Lines($"if (_l{n}RecurrentMask.Active)",
                $"    _l{n}RecurrentMask.Apply({buffer}, {buffer}, {L}Padded, {L}Hidden, batch, batch, blockStart * BlockWidth, blockEnd * BlockWidth);");

            /// <summary>Methods the backward pass calls that sit beside <c>BackwardLayer{n}</c> (the shared backward steps).</summary>
            public virtual void EmitBackwardRecurrence()
            {
            }

            // ---- hooks of the backward step --------------------------------------------------------------------

            /// <summary>A GRU reads h(t−1) outside its recurrent products too (z⊙h(t−1)); an LSTM reads it only in
            /// U·h(t−1).</summary>
            protected virtual bool ReadsHiddenOutsideProducts => true;

            /// <summary>Under recurrent dropout a GRU's products send ∂h̃(t−1) into <c>dTilde</c>, added to ∂h(t−1)
            /// through the mask; an LSTM's carry is all product.</summary>
            public bool GathersMaskedGradient => layer.RecurrentDropout is not null && ReadsHiddenOutsideProducts;

            /// <summary>What recurrent dropout, weight drop and candidate dropout change in this cell's backward step.</summary>
            public BackwardHooks BackwardHooks()
            {
                // Recurrent dropout: the recurrent products read h̃(t−1) = h(t−1)⊙m, so their weight gradients take h̃ and
                // the gradient they send back to h(t−1) is masked again.
                bool masked = layer.RecurrentDropout is not null;
                string maskCarry = !masked ? "" : !GathersMaskedGradient
                    ? $"// h̃ = h⊙m/(1 − p):  ∂h(t−1) = ∂h̃⊙m/(1 − p)\nif (_l{n}RecurrentMask.Active)\n    _l{n}RecurrentMask.Apply(dHidden, dHidden, {L}Padded, {L}Hidden, batch, batch);"
                    : $"// h̃ = h⊙m/(1 − p):  ∂h(t−1) += ∂h̃⊙m/(1 − p)\nif (_l{n}RecurrentMask.Active)\n    _l{n}RecurrentMask.Apply(dTilde, dTilde, {L}Padded, {L}Hidden, batch, batch);\nglobal::System.Numerics.Tensors.TensorPrimitives.Add(dHidden, dTilde, dHidden);";
                // Semeniuta: the candidate used was g⊙m (n⊙m); the mask, regenerated, scales its gradient. It is loaded
                // once per block, where the block's state gradient starts.
                bool semeniuta = Semeniuta;
                return new BackwardHooks(
                    RecurrentInput: masked ? "recurrentInput" : "hidden",
                    RecurrentGradient: layer.WeightDrop is null
                        ? $"grad.Slice({L}RecurrentWeights, {L}RecurrentShape.Length), {L}RecurrentShape"
                        : $"dRecurrentWeights, {L}RecurrentShape",
                    MaskCarry: maskCarry,
                    MaskLoad: semeniuta ? "T candidateKept = T.Load(in At(candidateMask, u)); // the candidate's mask\n" : "",
                    CandidateKept: semeniuta ? "(g * candidateKept)" : "g",
                    CandidateUsed: semeniuta ? "candidate * candidateKept" : "candidate",
                    MaskFactor: semeniuta ? " * candidateKept" : "",
                    ProductTarget: GathersMaskedGradient ? "dTilde" : "dHidden",
                    ClearTilde: GathersMaskedGradient ? "\ndTilde.Clear();" : "");
            }

            // ---- hooks of the streaming step ------------------------------------------------------------------

            /// <summary>Zoneout at inference: κ = the rate, filled into the state's κ buffers before the step.</summary>
            protected string StepZoneFill
            {
                get
                {
                    string fill = Lines(layer.Zoneout is not null ? $"global::FastRnn.Kernels.ZoneoutSite.FillExpected(state.Layer{n}Zoneout, {L}Padded, {L}Hidden, batch, _options.Layer{n}Zoneout);" : null!,
                        layer.CellZoneout is not null ? $"global::FastRnn.Kernels.ZoneoutSite.FillExpected(state.Layer{n}CellZoneout, {L}Padded, {L}Hidden, batch, _options.Layer{n}CellZoneout);" : null!);
                    return fill.Length > 0 ? "// zoneout at inference: κ = the rate\n" + fill + "\n" : fill;
                }
            }

            /// <summary>The state's κ buffers and the candidate mask (all ones at inference) as AdvanceLayer arguments.</summary>
            protected string StepZoneArguments =>
                (layer.Zoneout is not null ? $"state.Layer{n}Zoneout, " : "") +
                (layer.CellZoneout is not null ? $"state.Layer{n}CellZoneout, state.Layer{n}CellCandidate, " : "") +
                (layer.CandidateDropout is not null ? $"state.Layer{n}Ones, " : "");

            /// <summary>The zoneout rates the fused batch-1 step takes.</summary>
            protected string StepZoneRates =>
                (layer.Zoneout is not null ? $", _options.Layer{n}Zoneout" : "") + (layer.CellZoneout is not null ? $", _options.Layer{n}CellZoneout" : "");

            // ---- hooks of the forward step ----------------------------------------------------------------------

            /// <summary>Recurrent dropout: a GRU reads h(t−1) twice, masked (h̃) in its recurrent products and unmasked
            /// in z⊙h(t−1), so it takes h̃ as its own parameter.</summary>
            protected virtual bool MaskedRecurrentInput => layer.RecurrentDropout is not null && !layer.Normalized;

            /// <summary>What the recurrent products read: h(t−1), or h̃(t−1) under recurrent dropout.</summary>
            protected string RecurrentInput => MaskedRecurrentInput ? "hRecurrent" : "hPrev";

            protected string RecurrentInputParameter => MaskedRecurrentInput ? $" {ReadOnlySpan} hRecurrent," : "";

            protected string RecurrentInputDoc => MaskedRecurrentInput
                ? " <paramref name=\"hRecurrent\"/> is what the recurrent products read: h(t−1), or h̃(t−1) under recurrent dropout."
                : "";

            /// <summary>Zoneout's κ (and c̃ kept for backward) and the candidate mask: the parameters they add to
            /// <c>AdvanceLayer{n}</c>.</summary>
            protected string ZoneParameters =>
                (layer.Zoneout is not null ? $"{ReadOnlySpan} zoneHidden, " : "") +
                (layer.CellZoneout is not null ? $"{ReadOnlySpan} zoneCell, {Span} cellCandidate, " : "") +
                (layer.CandidateDropout is not null ? $"{ReadOnlySpan} candidateMask, " : "");

            /// <summary>Candidate dropout (Semeniuta): the candidate is multiplied by its mask.</summary>
            protected bool Semeniuta => layer.CandidateDropout is not null;

            protected string ZoneDoc => !layer.HasZoneout ? "" : "\n/// Zoneout: with κ from <paramref name=\"zone" + (layer.Zoneout is not null ? "Hidden" : "Cell") +
                "\"/> (1 keeps the previous value in training, the rate at inference), " +
                (layer.Zoneout is not null ? "h(t) = h̃ + κ_h⊙(h(t−1) − h̃)" : "") + (layer.Zoneout is not null && layer.CellZoneout is not null ? " and " : "") +
                (layer.CellZoneout is not null ? "c(t) = c̃ + κ_c⊙(c(t−1) − c̃), c̃ kept in <paramref name=\"cellCandidate\"/>" : "") + ".";

            /// <summary>AdvanceLayer's last parameter when it makes the recurrent product itself (a normalized cell's is
            /// made before): the direction of its column walk (see the generated <c>Alternate</c>).</summary>
            protected string DescendingParameter => layer.Normalized ? "" : SplitsByBlocks ? ", bool descending, int blockStart, int blockEnd" : ", bool descending";

            /// <summary>Whether AdvanceLayer can run for a range of unit blocks (one thread's share of a step): its
            /// product and its update touch only those blocks' gates and units. Not a normalized cell (its product is
            /// made before) and not the classic GRU (its candidate product reads r⊙h of every unit).</summary>
            public virtual bool SplitsByBlocks => !layer.Normalized;

            /// <summary>Whether the sequence forward's recurrence can be shared by blocks of units across the pool's
            /// threads (each step's barrier publishing h(t)): wherever AdvanceLayer splits by blocks.</summary>
            public virtual bool SplitsRecurrenceByBlocks => SplitsByBlocks;

            /// <summary>The sequence forward's block arguments of <c>AdvanceLayer{n}</c>: a share's range and whether it
            /// streams h(t) to the other shares (<c>stream</c>, see <c>RecurLayer{n}</c>) when <paramref name="split"/>,
            /// else the whole layer (none for a kernel that takes no range).</summary>
            public virtual string AdvanceBlocks(bool split) => split ? ", blockStart, blockEnd" + (StreamsHidden ? ", stream: stream" : "") : SplitsByBlocks ? $", 0, {L}Blocks" : "";

            /// <summary>Whether <c>AdvanceLayer{n}</c> takes <c>stream</c> (a shared recurrence's h(t) stored past the
            /// caches when the pool says so): the cells that split by blocks.</summary>
            public bool StreamsHidden => SplitsByBlocks;

            /// <summary>The recurrent weights and their shape: the arena's, or, under weight drop, the pass's dropped
            /// copy, passed in apart from the arena.</summary>
            protected string RecurrentWeights => layer.WeightDrop is null
                ? $"p.Slice({L}RecurrentWeights, {L}RecurrentShape.Length), {L}RecurrentShape"
                : $"recurrentWeights, {L}RecurrentShape";

            /// <summary>The parameter that brings the products in: a normalized layer's x̂ (it takes no weights of its
            /// own), or the dropped recurrent weights under weight drop.</summary>
            protected string WeightsParameter => layer.Normalized ? $" {ReadOnlySpan} inputNormalized," : layer.WeightDrop is null ? "" : $" {ReadOnlySpan} recurrentWeights,";

            /// <summary>Gate k's input part: b_ih + W·x as the products left it, or, under normalization, γ_x⊙x̂ + b_ih.</summary>
            protected string X(int k) => layer.Normalized
                ? $"Affine<T>(p, {L}InputGain + block{Lane(k)}, {L}InputBias + block{Lane(k)}, in {(k == 0 ? "xn" : $"At(ref xn, {LaneOffset(k)})")})"
                : $"T.Load(in {(k == 0 ? "a" : $"At(ref a, {LaneOffset(k)})")})";

            /// <summary>Gate k's recurrent part: b_hh + U·h, or, under normalization, γ_h⊙ĥ + b_hh.</summary>
            protected string H(int k) => layer.Normalized
                ? $"Affine<T>(p, {L}RecurrentGain + block{Lane(k)}, {L}RecurrentBias + block{Lane(k)}, in {(k == 0 ? "gh" : $"At(ref gh, {LaneOffset(k)})")})"
                : $"T.Load(in {(k == 0 ? "gh" : $"At(ref gh, {LaneOffset(k)})")})";

            // ---- hooks of the batch-1 step ----------------------------------------------------------------------

            /// <summary>Zoneout at inference: the rates weigh the previous state (the same for every unit).</summary>
            protected string StepZoneParameters => (layer.Zoneout is not null ? ", float zoneHidden" : "") + (layer.CellZoneout is not null ? ", float zoneCell" : "");

            protected string StepZoneSetup => Lines(
                layer.Zoneout is not null ? "T keepHidden = T.Create(zoneHidden);" : null!,
                layer.CellZoneout is not null ? "T keepCell = T.Create(zoneCell);" : null!);

            /// <summary>A normalized layer's batch-1 products, fused: one pass over the gate-interleaved weights
            /// accumulates W_ih·x and U·h(t−1) for every gate of a block of 16 units in registers, as the plain fused
            /// step does; they are stored raw, since the normalizations need whole rows before any gate can be
            /// activated.</summary>
            protected void EmitProductsSingle()
            {
                int gates = Gates(layer.Cell);
                string[] input = Enumerable.Range(0, gates).Select(k => $"wx{k}").ToArray();
                string[] recurrent = Enumerable.Range(0, gates).Select(k => $"uh{k}").ToArray();
                string Stores(string target, string[] accumulators) =>
                    string.Join("\n", accumulators.Select((a, k) => $"T.Store(ref At({target}, block{Lane(k)}), {a});"));
                _w.Lines($$"""
                    /// <summary>Layer {{n}}, one row: W_ih·x into <paramref name="inputProduct"/> and U·h(t−1) into
                    /// <paramref name="recurrentProduct"/> ([Row] each), every gate of a block of 16 units accumulated in
                    /// registers in one pass over the layer's weights.</summary>
                    {{NoInlining}}
                    private static void ProductsLayer{{n}}Single<T>({{ReadOnlySpan}} p, {{ReadOnlySpan}} x, {{ReadOnlySpan}} hPrev, {{Span}} inputProduct, {{Span}} recurrentProduct) {{BlockConstraint}}
                    {
                        ref float inputWeights = ref At(p, {{L}}InputWeights);
                        ref float recurrentWeights = ref At(p, {{L}}RecurrentWeights);
                        ref float x0 = ref At(x, 0);
                        ref float h0 = ref At(hPrev, 0);
                        for (int j = 0; j < {{L}}Blocks; j++)
                        {
                            int block = j * {{L}}Gates * BlockWidth;
                            T {{string.Join(" = T.Zero, ", input)}} = T.Zero;
                            ref float w = ref At(ref inputWeights, j * {{L}}Inputs * {{L}}Gates * BlockWidth);
                            {{Accumulate(L, "Inputs", "x", input)}}
                            {{Stores("inputProduct", input)}}
                            T {{string.Join(" = T.Zero, ", recurrent)}} = T.Zero;
                            w = ref At(ref recurrentWeights, j * {{L}}Hidden * {{L}}Gates * BlockWidth);
                            {{Accumulate(L, "Hidden", "h", recurrent)}}
                            {{Stores("recurrentProduct", recurrent)}}
                        }
                    }

                    """);
            }
        }

        /// <summary>What the regularizers change in a cell's backward step, written by the phase and spliced in by the
        /// cell at named points: <see cref="RecurrentInput"/> (h(t−1), or h̃(t−1) under recurrent dropout, what the
        /// recurrent weight gradient reads), <see cref="RecurrentGradient"/> (∂U, or ∂ of the dropped U under weight
        /// drop), <see cref="MaskCarry"/> (after ∂h(t−1) of a step: recurrent dropout's mask on it),
        /// <see cref="MaskLoad"/>, <see cref="CandidateKept"/>, <see cref="CandidateUsed"/> and <see cref="MaskFactor"/>
        /// (candidate dropout), <see cref="ProductTarget"/> and <see cref="ClearTilde"/> (a GRU's ∂h̃(t−1) under
        /// recurrent dropout).</summary>
        private sealed record BackwardHooks(string RecurrentInput, string RecurrentGradient, string MaskCarry, string MaskLoad,
            string CandidateKept, string CandidateUsed, string MaskFactor, string ProductTarget, string ClearTilde);
    }
}
