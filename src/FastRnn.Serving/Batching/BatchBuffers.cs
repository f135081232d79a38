using FastRnn.Serving.Models;

namespace FastRnn.Serving.Batching;

/// <summary>What one batched step needs, allocated once: a state for every even row count up to the capacity, the
/// batch's inputs and outputs, and the requests in it. <see cref="Run"/> gathers the requests' session states into a
/// state's rows, steps it, and scatters the states and outputs back.</summary>
internal sealed class BatchBuffers
{
    private readonly ServedModel _model;
    private readonly IRnnState[] _states;
    private readonly int[] _tokens;
    private readonly float[] _features;
    private readonly float[] _outputs;

    /// <summary>Buffers for batches of 1 to <paramref name="capacity"/> steps.</summary>
    public BatchBuffers(ServedModel model, int capacity)
    {
        _model = model;
        int rows = Padded(capacity);
        _states = new IRnnState[rows / 2 + 1];
        for (int r = 2; r <= rows; r += 2)
            _states[r / 2] = model.NewState(r);
        _tokens = new int[rows];
        _features = new float[rows * model.InputWidth];
        _outputs = new float[rows * model.OutputWidth];
        Batch = new Stepper[capacity];
    }

    /// <summary>The requests of the batch being run, first <c>count</c> entries.</summary>
    public Stepper[] Batch { get; }

    /// <summary>Rows a batch of <paramref name="steps"/> steps runs as: the next even number (see <see cref="ServedModel"/>).</summary>
    public static int Padded(int steps) => steps + (steps & 1);

    /// <summary>Steps the first <paramref name="count"/> requests of <see cref="Batch"/> together on
    /// <paramref name="weights"/>. Each session's state advances only if the whole step succeeds.</summary>
    public void Run(int count, ServedWeights weights)
    {
        int rows = Padded(count), inputs = _model.InputWidth, outputs = _model.OutputWidth;
        var state = _states[rows / 2];
        var rowsOf = _model.Rows;
        for (int i = 0; i < count; i++)
        {
            var request = Batch[i];
            rowsOf.Copy(request.State, 0, state, i);
            if (_model.TakesTokens) _tokens[i] = request.Token;
            else request.Input.CopyTo(_features, i * inputs);
        }
        if (rows > count)
        {
            rowsOf.Clear(state, count);
            _tokens[count] = 0;
            _features.AsSpan(count * inputs, inputs).Clear();
        }
        weights.Step(_tokens.AsSpan(0, rows), _features.AsSpan(0, rows * inputs), state, _outputs.AsSpan(0, rows * outputs));
        for (int i = 0; i < count; i++)
        {
            var request = Batch[i];
            rowsOf.Copy(state, i, request.State, 0);
            _outputs.AsSpan(i * outputs, outputs).CopyTo(request.OutputBuffer);
            request.WeightsVersion = weights.Version;
        }
    }
}
