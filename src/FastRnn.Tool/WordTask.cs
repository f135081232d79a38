using System.Diagnostics;
using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

// S3 of the brief: Embedding(V, 256) → LSTM(256) → BatchNorm (over batch × time) → Dropout(0.5) → softmax head;
// L1(0.01) on the head, L2(0.001) on the LSTM kernels; gradient clipping by value at 5; Adam 1e-3, batch 64, length 35.
[RnnModel, TokenInput(VerseTasks.Words, 256), Lstm(256, BatchNorm = true), Head(VerseTasks.Words, Activation.Softmax, Dropout = 0.5),
 Loss(LossKind.SoftmaxCrossEntropy)]
[Penalty(ParameterGroup.HeadKernel, L1 = 0.01), Penalty(ParameterGroup.InputKernel, L2 = 0.001), Penalty(ParameterGroup.RecurrentKernel, L2 = 0.001)]
internal sealed partial class KjvWordModel;

/// <summary>The reference model S3: a word-level language model on kjv.txt as the brief defines the task (lower case,
/// punctuation marks as tokens, <c>&lt;eos&gt;</c> after each verse, the 10,000 most frequent training words with
/// <c>&lt;unk&gt;</c>; the chapter split), trained with truncated BPTT (state carried across segments) and reported as
/// perplexity. <c>--arm plain</c> sets the dropout and the penalties to 0 and drops the value clipping; the batch
/// normalization stays (it is part of the architecture, not a switch).</summary>
public static class WordTask
{
    private const int Batch = 64, Steps = 35;

    public static int TrainS3(Options options, TextWriter output)
    {
        int seed = options.Int("seed", 1, 0), epochs = options.Int("epochs", 2, 1);
        bool plain = options.PlainArm();
        string arm = plain ? "plain" : "regularized";
        var corpus = options.Corpus();
        string[] Words(Split split) => options.Verses(corpus, split).SelectMany(v => WordTokenizer.Tokens(v.Text)).ToArray();
        var (trainWords, validationWords, testWords) = (Words(Split.Train), Words(Split.Validation), Words(Split.Test));
        var vocabulary = Vocabulary.Words(trainWords, VerseTasks.Words);
        TokenStream Stream(string[] words) => new(words.Select(vocabulary.Id).ToArray(), Batch);
        var (train, validation, test) = (Stream(trainWords), Stream(validationWords), Stream(testWords));

        var model = new KjvWordModel(Batch, Steps, (ulong)seed);
        if (plain)
            Options.SwitchOff(model.Options);
        var optimizer = new Adam(model, 1e-3f);
        if (!plain)
            optimizer.Clipping.MaxValue = 5f;
        var trainer = new LanguageModelTrainer(model, optimizer, Steps);
        output.WriteLine($"fastrnn train --task s3 --arm {arm}: S3 Embedding(10k, 256) → LSTM(256) → BatchNorm → dropout 0.5 → softmax(10k); " +
            $"L1 0.01 on the head, L2 1e-3 on the LSTM kernels, clip by value 5{(plain ? " (all off)" : "")}");
        output.WriteLine($"  {train.Targets:N0} / {validation.Targets:N0} / {test.Targets:N0} training / validation / test tokens, {vocabulary.Count:N0} words, " +
            $"batch {Batch}, BPTT {Steps}, Adam 1e-3, {epochs} epochs, seed {seed}");
        if (ProgressBar.Interactive(output))
            trainer.SegmentDone = new ProgressBar(output, "tokens", (long)Batch * Steps).Report;
        var clock = Stopwatch.StartNew();
        trainer.Fit(train, validation, epochs, onEpoch: r =>
            output.WriteLine($"epoch {r.Epoch + 1}/{epochs}  training objective {r.TrainLoss:F3} (cross-entropy and penalties)  valid perplexity {r.ValidationPerplexity:F1}  " +
                $"{train.Targets / r.Seconds:N0} tokens/s  {r.Seconds:F0} s"));
        double seconds = clock.Elapsed.TotalSeconds;
        double trainPerplexity = Math.Exp(trainer.Evaluate(train));
        double validationPerplexity = Math.Exp(trainer.Evaluate(validation));
        double testPerplexity = Math.Exp(trainer.Evaluate(test));
        output.WriteLine($"perplexity (inference): train {trainPerplexity:F1}, validation {validationPerplexity:F1}, test {testPerplexity:F1}; {seconds:F0} s");
        output.WriteLine("RESULT " + string.Create(CultureInfo.InvariantCulture,
            $"{{\"task\":\"s3\",\"arm\":\"{arm}\",\"seed\":{seed},\"epochs\":{epochs},\"train_perplexity\":{trainPerplexity:G6}," +
            $"\"valid_perplexity\":{validationPerplexity:G6},\"test_perplexity\":{testPerplexity:G6},\"seconds\":{seconds:F1}}}"));
        return 0;
    }
}
