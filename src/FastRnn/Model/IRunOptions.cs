namespace FastRnn;

/// <summary>
/// A model's run-time settings (its nested <c>RunOptions</c> type), seen without the model's type: mode, seed, the
/// mask counter, and every declared technique's rate or coefficient by name. The attributes give each its default;
/// changing one never recompiles, and a technique set to 0 costs one branch per call.
/// </summary>
public interface IRunOptions
{
    /// <summary>True: Forward draws masks (training). False: every technique acts as at inference. Step always infers.</summary>
    bool Training { get; set; }

    /// <summary>The seed of every mask (by default the seed the model was constructed with).</summary>
    ulong Seed { get; set; }

    /// <summary>The mask counter: each Forward in training mode draws its masks with this value, then increments it.
    /// Saving and restoring it (with <see cref="Seed"/>) resumes the same sequence of masks.</summary>
    ulong Pass { get; set; }

    /// <summary>The names of the declared rates and coefficients, in declaration order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>A rate or coefficient by name; setting an unknown name or an invalid value throws and changes nothing.</summary>
    float this[string name] { get; set; }
}
