namespace FastRnn;

/// <summary>A streaming state of a generated model (its nested <c>State</c> type), seen without the model's type.</summary>
public interface IRnnState
{
    /// <summary>Rows the state carries.</summary>
    int Batch { get; }

    /// <summary>The hidden state of <paramref name="layer"/> for <paramref name="row"/> (read or write).</summary>
    Span<float> Hidden(int layer, int row);

    /// <summary>The cell state of LSTM layer <paramref name="layer"/> for <paramref name="row"/> (read or write).</summary>
    Span<float> Cell(int layer, int row);

    /// <summary>Sets every state to zero.</summary>
    void Reset();
}
