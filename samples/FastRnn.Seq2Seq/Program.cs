using System.Diagnostics;
using System.Globalization;
using FastRnn;

// An encoder–decoder built from two FastRnn models, on a task it makes up: reverse a string of 4 to 10 digits.
// The encoder reads the digits (a batch of strings of different lengths, right-padded, with their lengths: its final
// (h, c) is each row's state after its own last digit); that state is the decoder's initial state; the decoder, fed the
// answer so far (teacher forcing: a start token, then the previous digit), predicts each digit of the reversed string,
// its loss counting each row's real steps only. Backward runs the decoder from its loss, hands ∂L/∂(initial h, c) to the
// encoder as ∂L/∂(final h, c) (joining each row at its own last digit), and the encoder backpropagates from that alone.
// Evaluation decodes greedily with the decoder's streaming Step on strings never trained on.
//
//   dotnet run -c Release --project samples/FastRnn.Seq2Seq [-- --steps 3000 --seed 1]
int steps = Option("--steps", 3000), seed = Option("--seed", 1);
const int Batch = 64, Length = Seq2Seq.Length, Digits = Seq2Seq.Digits;
var lengths = new int[Batch];

var encoder = new Encoder(Batch, Length, seed: (ulong)seed);
var decoder = new Decoder(Batch, Length, seed: (ulong)seed + 100);
var encoderAdam = new Adam(encoder, 3e-3f);
var decoderAdam = new Adam(decoder, 3e-3f);
encoderAdam.Clipping.MaxGlobalNorm = decoderAdam.Clipping.MaxGlobalNorm = 1f;

var random = new Random(seed);
int[] source = new int[Length * Batch], decoderInput = new int[Length * Batch], target = new int[Length * Batch];
var encoderState = encoder.CreateState(Batch);
var decoderState = decoder.CreateState(Batch);
var handedBack = decoder.CreateState(Batch);
var encoderGradient = encoder.CreateState(Batch);
var noOutputGradient = new float[Length * Batch * Encoder.OutputSize]; // the encoder's outputs feed nothing: its loss is the decoder's
var heldOut = Seq2Seq.Strings(new Random(seed + 1_000_000), 1024);
Console.WriteLine($"Reversing strings of {Seq2Seq.Shortest} to {Length} digits: encoder LSTM({Seq2Seq.Hidden}) → decoder LSTM({Seq2Seq.Hidden}), batch {Batch}, Adam 3e-3, {steps} steps; " +
    $"held out: {heldOut.Length} strings");
var clock = Stopwatch.StartNew();
double recent = 0;
for (int step = 1; step <= steps; step++)
{
    // a fresh batch, time-major: [step, row], each row right-padded (with digits that the lengths make irrelevant)
    for (int r = 0; r < Batch; r++)
    {
        lengths[r] = random.Next(Seq2Seq.Shortest, Length + 1);
        for (int t = 0; t < Length; t++)
            source[t * Batch + r] = random.Next(Digits);
    }
    for (int r = 0; r < Batch; r++)
        for (int t = 0; t < Length; t++)
        {
            target[t * Batch + r] = t < lengths[r] ? source[(lengths[r] - 1 - t) * Batch + r] : 0;
            decoderInput[t * Batch + r] = t == 0 ? Seq2Seq.Start : target[(t - 1) * Batch + r];
        }
    encoderState.Reset();
    encoder.Forward(source, Batch, Length, lengths, encoderState);
    Seq2Seq.Copy(encoderState.Layer0Hidden, encoderState.Layer0Cell, decoderState.Layer0Hidden, decoderState.Layer0Cell);
    decoder.Forward(decoderInput, Batch, Length, lengths, decoderState);
    float loss = decoder.Loss(target);
    decoder.ZeroGrad();
    decoder.Backward();
    decoder.CopyInitialStateGradient(handedBack);
    // the decoder's initial-state gradient is the encoder's final-state gradient
    Seq2Seq.Copy(handedBack.Layer0Hidden, handedBack.Layer0Cell, encoderGradient.Layer0Hidden, encoderGradient.Layer0Cell);
    encoder.ZeroGrad();
    encoder.Backward(noOutputGradient, encoderGradient);
    decoderAdam.Step();
    encoderAdam.Step();
    recent += loss;
    if (step % 500 == 0 || step == steps)
    {
        int count = step % 500 == 0 ? 500 : step % 500;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {step,5}: training loss {recent / count:F4}, held-out exact match {Seq2Seq.ExactMatch(encoder, decoder, heldOut):P1} ({clock.Elapsed.TotalSeconds:F1} s)"));
        recent = 0;
    }
}

int Option(string name, int fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

// No head and no loss: the encoder is a piece whose only output that matters is its final state.
[RnnModel, TokenInput(Seq2Seq.Digits, 32), Lstm(Seq2Seq.Hidden)]
internal sealed partial class Encoder;

[RnnModel, TokenInput(Seq2Seq.Digits + 1, 32), Lstm(Seq2Seq.Hidden), Head(Seq2Seq.Digits, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class Decoder;

internal static class Seq2Seq
{
    public const int Digits = 10, Shortest = 4, Length = 10, Hidden = 128;
    /// <summary>The decoder's first input, a token no digit uses.</summary>
    public const int Start = Digits;

    public static int[][] Strings(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, random.Next(Shortest, Length + 1)).Select(_ => random.Next(Digits)).ToArray()).ToArray();

    /// <summary>Hands one model's (h, c) to the other (the same width: the same padded layout).</summary>
    public static void Copy(float[] hidden, float[] cell, float[] toHidden, float[] toCell)
    {
        hidden.CopyTo(toHidden, 0);
        cell.CopyTo(toCell, 0);
    }

    /// <summary>The share of strings the pair reverses exactly, decoding greedily step by step.</summary>
    public static double ExactMatch(Encoder encoder, Decoder decoder, int[][] strings)
    {
        int batch = strings.Length, right = 0;
        var source = new int[Length * batch];
        var lengths = strings.Select(s => s.Length).ToArray();
        for (int r = 0; r < batch; r++)
            for (int t = 0; t < lengths[r]; t++)
                source[t * batch + r] = strings[r][t];
        var encoderState = encoder.CreateState(batch);
        // all held-out strings in one batch: an encoder of that capacity with the trained weights (made per evaluation)
        var runner = new Encoder(batch, Length);
        encoder.Parameters.CopyTo(runner.Parameters);
        runner.Forward(source, batch, Length, lengths, encoderState);
        var state = decoder.CreateState(batch);
        Copy(encoderState.Layer0Hidden, encoderState.Layer0Cell, state.Layer0Hidden, state.Layer0Cell);
        var input = Enumerable.Repeat(Start, batch).ToArray();
        var output = new float[batch * Digits];
        var correct = Enumerable.Repeat(true, batch).ToArray();
        for (int t = 0; t < Length; t++)
        {
            decoder.Step(input, state, output);
            for (int r = 0; r < batch; r++)
            {
                int best = 0;
                for (int d = 1; d < Digits; d++)
                    if (output[r * Digits + d] > output[r * Digits + best])
                        best = d;
                input[r] = best;
                // a row's answer is as long as its string: later steps are not read
                if (t < lengths[r])
                    correct[r] &= best == strings[r][lengths[r] - 1 - t];
            }
        }
        foreach (bool ok in correct)
            right += ok ? 1 : 0;
        return (double)right / batch;
    }
}
