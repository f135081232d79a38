using Microsoft.CodeAnalysis;

namespace FastRnn.Generators;

/// <summary>Every diagnostic the generator reports. IDs are stable: never renumber or reuse one. The parser records
/// the descriptor itself with each finding (<see cref="DiagnosticInfo"/>), so a new diagnostic needs only its field
/// here, a row in AnalyzerReleases.Unshipped.md and one in README.md's table (a test checks all three agree).</summary>
internal static class Diagnostics
{
    private const string Category = "FastRnn";

    public static readonly DiagnosticDescriptor NotPartial = Error("FRNN001",
        "Model class must be partial",
        "The model class '{0}' must be declared partial so FastRnn can generate its members");

    public static readonly DiagnosticDescriptor InputCount = Error("FRNN002",
        "Model needs exactly one input",
        "The model class '{0}' must have exactly one [DenseInput] or [TokenInput] attribute; it has {1}");

    public static readonly DiagnosticDescriptor NoRecurrentLayer = Error("FRNN003",
        "Model needs a recurrent layer",
        "The model class '{0}' must have at least one [Lstm] or [Gru] attribute");

    public static readonly DiagnosticDescriptor HeadCount = Error("FRNN004",
        "Model needs one head with its loss, or neither",
        "The model class '{0}' must have exactly one [Head] attribute when it declares a [Loss] (or neither, to output the top layer's states); it has {1}");

    public static readonly DiagnosticDescriptor LossCount = Error("FRNN005",
        "Model with a head needs exactly one loss",
        "The model class '{0}' must have exactly one [Loss] attribute with its [Head]; it has {1}");

    public static readonly DiagnosticDescriptor NonPositiveSize = Error("FRNN006",
        "Size must be positive",
        "{0} of [{1}] must be a positive integer; it is {2}");

    public static readonly DiagnosticDescriptor UnsupportedHeadLoss = Error("FRNN007",
        "Unsupported head and loss combination",
        "A {0} head cannot be trained with {1}; use a linear or sigmoid head with MeanSquaredError, a sigmoid head with BinaryCrossEntropy, or a softmax head with SoftmaxCrossEntropy");

    public static readonly DiagnosticDescriptor Generic = Error("FRNN008",
        "Model class must not be generic",
        "The model class '{0}' must not be generic: every size is fixed when it is compiled");

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error("FRNN009",
        "Containing type must be partial",
        "The type '{0}' that contains the model class '{1}' must be declared partial");

    public static readonly DiagnosticDescriptor UnknownValue = Error("FRNN010",
        "Unknown option value",
        "{0} of [{1}] has the value {2}, which FastRnn does not know");

    public static readonly DiagnosticDescriptor SizeTooLarge = Error("FRNN011",
        "Model too large",
        "The parameters of '{0}' need {1} floats, more than one arena can hold (2^31 − 1)");

    public static readonly DiagnosticDescriptor SoftmaxNeedsClasses = Error("FRNN012",
        "Softmax head needs two or more outputs",
        "A softmax head with SoftmaxCrossEntropy needs at least 2 outputs; it has {0}");

    public static readonly DiagnosticDescriptor RateOutOfRange = Error("FRNN013",
        "Rate outside [0, 1)",
        "{0} of [{1}] is a rate: it must be at least 0 and below 1; it is {2}");

    public static readonly DiagnosticDescriptor TwoDropoutMasks = Error("FRNN014",
        "Dropout declared twice on one input",
        "[{0}] declares both Dropout and LockedDropout; an input takes one kind of mask");

    public static readonly DiagnosticDescriptor ZoneoutWithRecurrentDropout = Error("FRNN015",
        "Zoneout and recurrent dropout on the same state",
        "[{0}] declares both Zoneout and RecurrentDropout: both act on h(t−1); choose one");

    public static readonly DiagnosticDescriptor NegativeCoefficient = Error("FRNN016",
        "Coefficient must be finite and non-negative",
        "{0} of [{1}] is a penalty coefficient: it must be finite and at least 0; it is {2}");

    public static readonly DiagnosticDescriptor PenaltyNeedsEveryStep = Error("FRNN017",
        "Activation penalties need a head that reads every step",
        "ActivationRegularization and TemporalActivationRegularization act on the top layer's output at every step; declare the head with Readout.EveryStep");

    public static readonly DiagnosticDescriptor PenaltyTwice = Error("FRNN018",
        "Penalty declared twice for one group",
        "The parameter group {0} has more than one [Penalty]; declare L1 and L2 together in one");

    public static readonly DiagnosticDescriptor MissingGroup = Error("FRNN019",
        "Penalty or constraint on a parameter group the model does not have",
        "[{0}] applies to a group this model does not have (an embedding needs [TokenInput], the head's groups a [Head])");

    public static readonly DiagnosticDescriptor ConstraintTwice = Error("FRNN020",
        "Constraint declared twice for one group",
        "The parameter group {0} has more than one [Constraint]; it takes one");

    public static readonly DiagnosticDescriptor ConstraintAxis = Error("FRNN021",
        "Constraint axis out of range",
        "Axis {0} of [Constraint({1})] is not an axis of that group's tensors (kernels and embeddings have 0 and 1, biases only 0)");

    public static readonly DiagnosticDescriptor ConstraintValues = Error("FRNN022",
        "Invalid constraint values",
        "[Constraint({0}, {1})] needs finite values with 0 ≤ Min ≤ Max, Max > 0 and Rate in [0, 1]; it has Min {2}, Max {3}, Rate {4}");

    public static readonly DiagnosticDescriptor LayerNormClassicGru = Error("FRNN023",
        "Normalization on a classic GRU",
        "[{0}] declares {1} with Variant = ResetBefore; normalizing U·h needs the reset-after GRU, whose recurrent products all read h(t−1)");

    public static readonly DiagnosticDescriptor TwoNormalizations = Error("FRNN024",
        "Two normalizations of one layer's products",
        "[{0}] declares both LayerNorm and RecurrentBatchNorm; each normalizes W·x and U·h, so declare one");

    public static readonly DiagnosticDescriptor BatchNormWithoutMaxSteps = Error("FRNN025",
        "Recurrent batch normalization without MaxSteps",
        "[{0}] declares RecurrentBatchNorm with MaxSteps {1}; its statistics are kept per time step, so MaxSteps (T_max) must be at least 1");

    public static readonly DiagnosticDescriptor MaxStepsWithoutBatchNorm = Error("FRNN026",
        "MaxSteps without recurrent batch normalization",
        "[{0}] sets MaxSteps without RecurrentBatchNorm; MaxSteps is the number of time steps that keep their own batch statistics");

    public static readonly DiagnosticDescriptor BidirectionalNormalization = Error("FRNN027",
        "Batch normalization of a bidirectional layer's output",
        "[{0}] declares Bidirectional with BatchNorm; batch normalization between layers takes a one-directional layer's output (LayerNorm and RecurrentBatchNorm work per direction)");

    public static readonly DiagnosticDescriptor ProjectionSize = Error("FRNN028",
        "Invalid projection",
        "[{0}] declares Projection = {1}; a projection has 1 to Hidden − 1 units (Hidden is {2})");

    public static readonly DiagnosticDescriptor ProjectionTechnique = Error("FRNN029",
        "Technique not available on a projected layer",
        "[{0}] declares Projection with {1}, which a projected LSTM does not support");

    public static readonly DiagnosticDescriptor ModelReadoutWithHead = Error("FRNN030",
        "Model readout on a model with a head",
        "{0} declares [RnnModel(Readout = …)] and a [Head]; a model with a head reads out where its head does: declare Readout on the [Head]");

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
