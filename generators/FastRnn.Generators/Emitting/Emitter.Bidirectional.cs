using System.Linq;

namespace FastRnn.Generators;

// Bidirectional layers (issue 11). The spec holds a bidirectional layer as two layers, its forward direction n and its
// reverse direction n + 1, each with its own weights, buffers, masks and state, run by the same code as any layer. The
// reverse direction differs in three moves around that code (Kernels.Directions): its input products, made in the
// sequence's order, are reversed per row before the recurrence (and their gradient reversed back before the input side
// of backward); the two directions' outputs are joined, in the sequence's order, into the reverse direction's
// _l{n}Joined, which the layer above or the head reads (2·Hidden wide); backward splits that gradient again.
internal static partial class Emitter
{
    private sealed partial class ModelEmitter
    {
        /// <summary>Layer n is the reverse direction of a bidirectional layer (its forward direction is n − 1).</summary>
        private bool Reverse(int n) => _m.Layers[n].Reverse;

        /// <summary>Layer n is the forward direction of a bidirectional layer (its reverse direction is n + 1).</summary>
        private bool ForwardDirection(int n) => n + 1 < _m.Layers.Count && _m.Layers[n + 1].Reverse;

        /// <summary>A model with a bidirectional layer cannot stream: it has no <c>Step</c>.</summary>
        private bool Streams => !_m.Layers.Any(l => l.Bidirectional);

        /// <summary>The layer whose output layer n reads (−1: the model's input); a reverse direction reads what its
        /// forward direction reads.</summary>
        private int Below(int n) => Reverse(n) ? n - 2 : n - 1;

        private bool ReadsModelInput(int n) => Below(n) < 0;

        /// <summary>The width of layer n's output as the layer above reads it: Hidden, or both directions' 2·Hidden.</summary>
        private string OutputWidth(int n) => Reverse(n) ? $"L{n}Joined" : StateWidth(n);

        /// <summary>The row stride of layer n's output as the layer above reads it.</summary>
        private string OutputStride(int n) => Reverse(n) ? $"L{n}JoinedPadded" : $"L{n}Padded";

        /// <summary>The buffer of ∂L/∂(layer n's output) as the layer above (or the head) writes it.</summary>
        private string OutputGradient(int n) => Reverse(n) ? $"_l{n}JoinedGradient" : StateGradient(n);

        /// <summary>The forward pass's per-row lengths as a span (empty without lengths), for the direction moves.</summary>
        private const string LengthsSpan = "(_useLengths ? _lengths.AsSpan(0, batch) : default)";

        /// <summary>After the reverse direction n's forward: both directions' outputs joined in the sequence's order.</summary>
        private string JoinDirections(int n) =>
            $"global::FastRnn.Kernels.Directions.Join({StateBuffer(n - 1)}.AsSpan(batch * L{n}Padded), {StateBuffer(n)}.AsSpan(batch * L{n}Padded), " +
            $"_l{n}Joined, {StateWidth(n)}, L{n}Padded, L{n}JoinedPadded, batch, steps, {LengthsSpan});";

        /// <summary>Before the reverse direction n's backward: ∂L/∂(joined output) split into both directions' ∂L/∂h.</summary>
        private string SplitDirections(int n) =>
            $"global::FastRnn.Kernels.Directions.Split(_l{n}JoinedGradient.AsSpan(0, steps * batch * L{n}JoinedPadded), {StateGradient(n - 1)}, {StateGradient(n)}, " +
            $"{StateWidth(n)}, L{n}Padded, L{n}JoinedPadded, batch, steps, {LengthsSpan});";

        /// <summary>The reverse direction's rows of <paramref name="buffer"/> (<paramref name="width"/> floats each) taken
        /// backwards in time per row, in place: into its own step order, or back.</summary>
        private static string ReverseSteps(string buffer, string width) =>
            $"global::FastRnn.Kernels.Directions.ReverseSteps({buffer}, {width}, batch, steps, {LengthsSpan});";

        /// <summary>The top layer's raw output (before a batch normalization), <paramref name="rows"/> rows from step 0:
        /// what TAR's differences read.</summary>
        private string RawTopOutput(string rows) => Reverse(Top)
            ? $"_l{Top}Joined.AsSpan(0, {rows} * L{Top}JoinedPadded)"
            : $"{StateBuffer(Top)}.AsSpan(batch * L{Top}Padded, {rows} * L{Top}Padded)";

        /// <summary>The constants of a bidirectional layer's joined output (on its reverse direction).</summary>
        private void EmitJoinedConstants(int n)
        {
            if (!Reverse(n))
                return;
            int joined = 2 * _m.Layers[n].StateSize;
            _w.Line($"private const int L{n}Joined = {N(joined)}; // [h_forward, h_reverse] of layer {n - 1} and {n}");
            _w.Line($"private const int L{n}JoinedPadded = {N(Pad(joined))};");
        }
    }
}
