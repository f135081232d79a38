namespace FastRnn.Serving.Batching;

/// <summary>Copies one row of a streaming state to a row of another state of the same model: every layer's hidden
/// state, and the cell state of its LSTM layers. This is how the batcher gathers sessions' states into one batched
/// state and scatters them back.</summary>
internal sealed class StateRows
{
    private readonly bool[] _hasCell;

    private readonly int[] _widths;

    public StateRows(ModelArchitecture architecture)
    {
        _hasCell = architecture.Layers.Select(l => l.Cell == RecurrentCell.Lstm).ToArray();
        _widths = architecture.Layers.Select(l => l.StateSize).ToArray();
        Width = architecture.Layers.Sum(l => l.StateSize + (l.Cell == RecurrentCell.Lstm ? l.Hidden : 0));
    }

    /// <summary>Floats of one row's state: every layer's h, and c for LSTM layers.</summary>
    public int Width { get; }

    public void Copy(IRnnState from, int fromRow, IRnnState to, int toRow)
    {
        for (int layer = 0; layer < _hasCell.Length; layer++)
        {
            from.Hidden(layer, fromRow).CopyTo(to.Hidden(layer, toRow));
            if (_hasCell[layer])
                from.Cell(layer, fromRow).CopyTo(to.Cell(layer, toRow));
        }
    }

    public void Clear(IRnnState state, int row)
    {
        for (int layer = 0; layer < _hasCell.Length; layer++)
        {
            state.Hidden(layer, row).Clear();
            if (_hasCell[layer])
                state.Cell(layer, row).Clear();
        }
    }

    /// <summary>One row's state as <see cref="Width"/> floats, layer by layer: h, then c for an LSTM layer.</summary>
    public void Export(IRnnState state, int row, Span<float> destination)
    {
        CheckWidth(destination.Length);
        int at = 0;
        for (int layer = 0; layer < _hasCell.Length; layer++)
        {
            var h = state.Hidden(layer, row);
            h.CopyTo(destination[at..]);
            at += h.Length;
            if (_hasCell[layer])
            {
                var c = state.Cell(layer, row);
                c.CopyTo(destination[at..]);
                at += c.Length;
            }
        }
    }

    /// <summary>Restores one row's state from <see cref="Export"/>'s layout.</summary>
    public void Import(ReadOnlySpan<float> source, IRnnState state, int row)
    {
        CheckWidth(source.Length);
        int at = 0;
        for (int layer = 0; layer < _hasCell.Length; layer++)
        {
            var h = state.Hidden(layer, row);
            source.Slice(at, h.Length).CopyTo(h);
            at += h.Length;
            if (_hasCell[layer])
            {
                var c = state.Cell(layer, row);
                source.Slice(at, c.Length).CopyTo(c);
                at += c.Length;
            }
        }
    }

    private void CheckWidth(int length)
    {
        if (length != Width)
            throw new ArgumentException($"A state of this model is {Width} floats ({string.Join(" + ", _widths)} of h{(_hasCell.Any(c => c) ? ", and c for LSTM layers" : "")}); got {length}.");
    }
}
