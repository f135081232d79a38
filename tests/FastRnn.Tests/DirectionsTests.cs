using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The bidirectional moves on small time-major buffers whose values name their step, row and unit.</summary>
public class DirectionsTests
{
    private const int Batch = 3, Steps = 5;
    private static readonly int[] s_lengths = [5, 2, 4];

    private static float Value(int step, int row, int unit) => 1 + 100 * step + 10 * row + unit; // never 0

    [Fact]
    public void ReverseStepsTakesEachRowsRealStepsBackwardsAndLeavesItsPadding()
    {
        const int Width = 3;
        var rows = new float[Steps * Batch * Width];
        for (int t = 0; t < Steps; t++)
            for (int r = 0; r < Batch; r++)
                for (int u = 0; u < Width; u++)
                    rows[(t * Batch + r) * Width + u] = Value(t, r, u);
        var reversed = (float[])rows.Clone();
        Directions.ReverseSteps(reversed, Width, Batch, Steps, s_lengths);
        for (int s = 0; s < Steps; s++)
            for (int r = 0; r < Batch; r++)
            {
                int t = s < s_lengths[r] ? s_lengths[r] - 1 - s : s;
                for (int u = 0; u < Width; u++)
                    Assert.Equal(Value(t, r, u), reversed[(s * Batch + r) * Width + u]);
            }
        Directions.ReverseSteps(reversed, Width, Batch, Steps, s_lengths);
        Assert.Equal(rows, reversed);
        // without lengths every row has all steps
        Directions.ReverseSteps(reversed, Width, Batch, Steps, default);
        Assert.Equal(Value(Steps - 1, 1, 2), reversed[(0 * Batch + 1) * Width + 2]);
    }

    [Fact]
    public void JoinPutsBothDirectionsInTheSequencesOrderAndSplitUndoesIt()
    {
        const int Hidden = 2, Padded = 4, Stride = 5;
        var forward = new float[Steps * Batch * Padded];
        var reverse = new float[Steps * Batch * Padded];
        for (int s = 0; s < Steps; s++)
            for (int r = 0; r < Batch; r++)
                for (int u = 0; u < Hidden; u++)
                {
                    forward[(s * Batch + r) * Padded + u] = Value(s, r, u);
                    reverse[(s * Batch + r) * Padded + u] = -Value(s, r, u); // the reverse direction's own step s
                }
        var joined = new float[Steps * Batch * Stride];
        Directions.Join(forward, reverse, joined, Hidden, Padded, Stride, Batch, Steps, s_lengths);
        for (int t = 0; t < Steps; t++)
            for (int r = 0; r < Batch; r++)
            {
                int s = t < s_lengths[r] ? s_lengths[r] - 1 - t : t;
                for (int u = 0; u < Hidden; u++)
                {
                    Assert.Equal(Value(t, r, u), joined[(t * Batch + r) * Stride + u]);
                    Assert.Equal(-Value(s, r, u), joined[(t * Batch + r) * Stride + Hidden + u]);
                }
            }
        var dForward = Enumerable.Repeat(7f, forward.Length).ToArray(); // stale values, padding included, are overwritten
        var dReverse = Enumerable.Repeat(7f, reverse.Length).ToArray();
        Directions.Split(joined, dForward, dReverse, Hidden, Padded, Stride, Batch, Steps, s_lengths);
        Assert.Equal(forward, dForward);
        Assert.Equal(reverse, dReverse);
    }

    [Fact]
    public void GatherLastReadsTheForwardLastRealStepAndTheReverseFirstStep()
    {
        const int Hidden = 2, Stride = 6;
        var joined = new float[Steps * Batch * Stride];
        for (int t = 0; t < Steps; t++)
            for (int r = 0; r < Batch; r++)
                for (int u = 0; u < 2 * Hidden; u++)
                    joined[(t * Batch + r) * Stride + u] = Value(t, r, u);
        var rows = new float[Batch * Stride];
        Directions.GatherLast(joined, rows, Hidden, Stride, Batch, Steps, s_lengths);
        for (int r = 0; r < Batch; r++)
            for (int u = 0; u < Hidden; u++)
            {
                Assert.Equal(Value(s_lengths[r] - 1, r, u), rows[r * Stride + u]);
                Assert.Equal(Value(0, r, Hidden + u), rows[r * Stride + Hidden + u]);
            }
        var back = new float[joined.Length];
        Directions.ScatterLast(rows, back, Hidden, Stride, Batch, Steps, s_lengths);
        for (int i = 0; i < back.Length; i++)
            Assert.True(back[i] == 0 || back[i] == joined[i], $"element {i}: {back[i]}");
        Assert.Equal(2 * Hidden * Batch, back.Count(v => v != 0)); // each gathered value back in its one place
    }

    [Fact]
    public void LengthsOfAnotherBatchAreRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => Directions.ReverseSteps(new float[30], 2, Batch, Steps, [1, 2]));
        Assert.Contains("Expected 3 lengths", ex.Message);
    }
}
