namespace FastRnn.Serving.Batching;

/// <summary>Copies one row of a streaming state to a row of another state of the same model: every layer's hidden
/// state, and the cell state of its LSTM layers. This is how the batcher gathers sessions' states into one batched
/// state and scatters them back.</summary>
internal sealed class StateRows
{
    private readonly bool[] _hasCell;

    public StateRows(ModelArchitecture architecture) =>
        _hasCell = architecture.Layers.Select(l => l.Cell == RecurrentCell.Lstm).ToArray();

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
}
