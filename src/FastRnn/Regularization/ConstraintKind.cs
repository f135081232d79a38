namespace FastRnn;

/// <summary>A weight constraint, applied after every optimizer update (Keras' <c>kernel_constraint</c> and kin).</summary>
public enum ConstraintKind
{
    None = 0,

    /// <summary>Keras <c>MaxNorm(max_value, axis)</c>: <c>w·clip(‖w‖, 0, max)/(ε + ‖w‖)</c>.</summary>
    MaxNorm = 1,

    /// <summary>Keras <c>UnitNorm(axis)</c>: <c>w/(ε + ‖w‖)</c>.</summary>
    UnitNorm = 2,

    /// <summary>Keras <c>NonNeg()</c>: <c>max(w, 0)</c>.</summary>
    NonNegative = 3,

    /// <summary>Keras <c>MinMaxNorm(min_value, max_value, rate, axis)</c>:
    /// <c>w·(rate·clip(‖w‖, min, max) + (1 − rate)·‖w‖)/(ε + ‖w‖)</c>.</summary>
    MinMaxNorm = 4,
}
