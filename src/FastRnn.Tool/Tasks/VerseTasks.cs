using System.Diagnostics;
using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

// S1 of the brief: LSTM(64, return sequences) → LSTM(32) → Dense(1, sigmoid), L2(0.01) on the kernels; binary
// cross-entropy, Adam, batch 32, 10 epochs. KJV verse → Old or New Testament. The words enter through an embedding of 64.
[RnnModel, TokenInput(VerseTasks.Words, 64), Lstm(64), Lstm(32), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]
[Penalty(ParameterGroup.InputKernel, L2 = 0.01), Penalty(ParameterGroup.RecurrentKernel, L2 = 0.01)]
internal sealed partial class TestamentModel;

// S5 of the brief: Embedding(V, 128) → GRU(256) → dropout 0.5 on the last hidden state → Linear(10); orthogonal
// weight_hh, Glorot input weights; cross-entropy, Adam(1e-3, weight_decay 1e-4), clip_grad_norm 5. Verse → book group.
[RnnModel, TokenInput(VerseTasks.Words, 128), Gru(256, InputInit = Initialization.GlorotUniform, RecurrentInit = Initialization.Orthogonal),
 Head(10, Activation.Softmax, Readout = Readout.LastStep, Dropout = 0.5), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class BookGroupModel;

/// <summary>The reference models S1 (verse → testament) and S5 (verse → one of ten book groups) on kjv.txt: the
/// corpus's chapter split; the brief's word tokenization (lower case, punctuation marks as tokens) with the 10,000
/// most frequent training words and <c>&lt;unk&gt;</c>; each verse a right-padded sequence of at most
/// <see cref="MaxTokens"/> tokens (longer verses keep their first ones; the padding counts in no output, loss or
/// gradient). <c>--arm plain</c> switches the regularizers off at run time (S1: the L2 penalties; S5: the dropout,
/// weight decay and gradient clipping), the same code and budget otherwise.</summary>
public static class VerseTasks
{
    public const int Words = 10_000;
    public const int MaxTokens = 64;
    private const int Batch = 32;

    private sealed record Task(string Name, string Title, int Epochs, int Patience);

    private static readonly Task s_s1 = new("s1", "S1 verse → testament: Embedding(10k, 64) → LSTM(64) → LSTM(32) → Dense(1, sigmoid); L2 0.01 on the kernels", 10, 0);
    private static readonly Task s_s5 = new("s5", "S5 verse → book group: Embedding(10k, 128) → GRU(256) → dropout 0.5 → Linear(10); Adam weight decay 1e-4, clip norm 5", 8, 2);

    public static int TrainS1(Options options, TextWriter output) => Train(s_s1, options, output);

    public static int TrainS5(Options options, TextWriter output) => Train(s_s5, options, output);

    private static SequenceSet Encode(List<Verse> verses, Vocabulary vocabulary, Task task)
    {
        bool classes = task == s_s5;
        var set = new SequenceSet(verses.Count, MaxTokens, 1, tokens: true, outputs: classes ? KjvCorpus.Groups.Count : 1, classes: classes);
        for (int i = 0; i < verses.Count; i++)
        {
            var tokens = WordTokenizer.Tokens(verses[i].Text).Where(t => t != Vocabulary.EndOfSentence).Take(MaxTokens).ToArray();
            for (int t = 0; t < tokens.Length; t++)
                set.Tokens[i * MaxTokens + t] = vocabulary.Id(tokens[t]);
            set.Lengths[i] = Math.Max(1, tokens.Length);
            if (classes)
                set.Classes[i] = KjvCorpus.Group(verses[i].Book);
            else
                set.Values[i] = KjvCorpus.Testament(verses[i].Book);
        }
        return set;
    }

    /// <summary>Accuracy over <paramref name="set"/> in inference mode (S1: the sigmoid output on the right side of 0.5).</summary>
    private static double Accuracy(SequenceTrainer trainer, SequenceSet set)
    {
        var outputs = new float[set.Count * set.Outputs];
        trainer.Predict(set, outputs);
        long correct = 0;
        for (int i = 0; i < set.Count; i++)
            correct += set.HasClasses
                ? System.Numerics.Tensors.TensorPrimitives.IndexOfMax(outputs.AsSpan(i * set.Outputs, set.Outputs)) == set.Classes[i] ? 1 : 0
                : (outputs[i] >= 0.5f) == (set.Values[i] >= 0.5f) ? 1 : 0;
        return correct / (double)set.Count;
    }

    private static int Train(Task task, Options options, TextWriter output)
    {
        int seed = options.WholeNumber("seed", 1), epochs = options.WholeNumber("epochs", task.Epochs);
        bool plain = options.PlainArm();
        string arm = plain ? "plain" : "regularized";
        var corpus = options.Corpus();
        var (trainVerses, validationVerses, testVerses) = (options.Verses(corpus, Split.Train), options.Verses(corpus, Split.Validation), options.Verses(corpus, Split.Test));
        var vocabulary = Vocabulary.Words(trainVerses.SelectMany(v => WordTokenizer.Tokens(v.Text)), Words);
        var (train, validation, test) = (Encode(trainVerses, vocabulary, task), Encode(validationVerses, vocabulary, task), Encode(testVerses, vocabulary, task));

        ISequenceModel model;
        Optimizer optimizer;
        if (task == s_s1)
        {
            model = new TestamentModel(Batch, MaxTokens, (ulong)seed);
            optimizer = new Adam(model, 1e-3f);
        }
        else
        {
            model = new BookGroupModel(Batch, MaxTokens, (ulong)seed);
            optimizer = plain ? new Adam(model, 1e-3f) : new Adam(model, 1e-3f, weightDecay: 1e-4f) { Clipping = { MaxGlobalNorm = 5f } };
        }
        if (plain)
            Options.SwitchOff(model.Options);
        var trainer = new SequenceTrainer(model, optimizer, (ulong)seed) { Pool = options.Pool() };
        var stopping = task.Patience > 0 ? new EarlyStopping("val_loss", patience: task.Patience, restoreBestWeights: true) : null;
        output.WriteLine($"fastrnn train --task {task.Name} --arm {arm}: {task.Title}" + (plain ? " (all off)" : ""));
        output.WriteLine($"  {train.Count:N0} / {validation.Count:N0} / {test.Count:N0} verses (chapter split), {vocabulary.Count:N0} words, " +
            $"at most {MaxTokens} tokens per verse, batch {Batch}, Adam 1e-3, {epochs} epochs" +
            (stopping is null ? "" : $" at most, early stopping on validation loss (patience {task.Patience}, best weights restored)") + $", seed {seed}");
        var clock = Stopwatch.StartNew();
        trainer.Fit(train, validation, epochs, earlyStopping: stopping, backup: options.Backup(), onEpoch: record =>
            output.WriteLine($"epoch {record.Epoch + 1,3}  train loss {record.TrainLoss:F4}  valid loss {record.Validation!.Loss:F4}  " +
                $"{(record.Validation.Accuracy is { } a ? $"valid accuracy {a:P2}  " : "")}{record.Seconds:F0} s"));
        double seconds = clock.Elapsed.TotalSeconds;
        var history = trainer.History;
        var (trainLoss, validationLoss, testLoss) = (trainer.Evaluate(train).Loss, trainer.Evaluate(validation).Loss, trainer.Evaluate(test).Loss);
        var (trainAccuracy, validationAccuracy, testAccuracy) = (Accuracy(trainer, train), Accuracy(trainer, validation), Accuracy(trainer, test));
        int majority = task == s_s1
            ? Math.Max(test.Values.Count(v => v >= 0.5f), test.Count - test.Values.Count(v => v >= 0.5f))
            : test.Classes.GroupBy(c => c).Max(g => g.Count());
        Plots.CurvesIfAsked(options, output, $"{task.Name} ({arm})", "loss", ("train", history.Select(r => r.TrainLoss).ToArray()),
            ("validation", history.Select(r => r.Validation!.Loss).ToArray()));
        output.WriteLine($"loss (inference): train {trainLoss:F4}, validation {validationLoss:F4}, test {testLoss:F4}; accuracy: train {trainAccuracy:P2}, " +
            $"validation {validationAccuracy:P2}, test {testAccuracy:P2} (majority class {majority / (double)test.Count:P2}); {seconds:F0} s");
        output.WriteLine("RESULT " + string.Create(CultureInfo.InvariantCulture,
            $"{{\"task\":\"{task.Name}\",\"arm\":\"{arm}\",\"seed\":{seed},\"epochs\":{history.Count},\"train_loss\":{trainLoss:G6},\"valid_loss\":{validationLoss:G6}," +
            $"\"test_loss\":{testLoss:G6},\"train_accuracy\":{trainAccuracy:G6},\"valid_accuracy\":{validationAccuracy:G6},\"test_accuracy\":{testAccuracy:G6}," +
            $"\"majority\":{majority / (double)test.Count:G6},\"seconds\":{seconds:F1}}}"));
        if (options.Given("quantize"))
        {
            var bfloat16 = model.Quantize(WeightPrecision.BFloat16);
            var int8 = model.Quantize(WeightPrecision.Int8);
            output.WriteLine($"quantized, test verses streamed a token at a time: accuracy float32 {StreamedAccuracy(model.NewState, model.StepTokens, test):P2}, " +
                $"bfloat16 {StreamedAccuracy(bfloat16.NewState, bfloat16.StepTokens, test):P2}, int8 {StreamedAccuracy(int8.NewState, int8.StepTokens, test):P2}");
        }
        return 0;
    }

    /// <summary>Accuracy over <paramref name="set"/> with each verse streamed through a batch-1 state from zero, the
    /// output after its last token read as <see cref="Accuracy"/> reads it.</summary>
    private static double StreamedAccuracy(Func<int, IRnnState> newState, StepTokens step, SequenceSet set)
    {
        var state = newState(1);
        var output = new float[set.Outputs];
        long correct = 0;
        for (int i = 0; i < set.Count; i++)
        {
            state.Reset();
            for (int t = 0; t < set.Lengths[i]; t++)
                step(set.Tokens.AsSpan(i * MaxTokens + t, 1), state, output);
            correct += set.HasClasses
                ? System.Numerics.Tensors.TensorPrimitives.IndexOfMax(output.AsSpan()) == set.Classes[i] ? 1 : 0
                : (output[0] >= 0.5f) == (set.Values[i] >= 0.5f) ? 1 : 0;
        }
        return correct / (double)set.Count;
    }
}
