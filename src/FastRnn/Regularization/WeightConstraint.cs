namespace FastRnn;

/// <summary>A constraint with its values. <see cref="Axis"/> is Keras': over the Keras-shaped tensor, whose kernels are
/// PyTorch's transposed ([inputs, gates·units]), so axis 0 takes the norm of each unit's incoming weights (a row of
/// PyTorch's weight) and axis 1 that of each input's outgoing weights; a bias has only axis 0 (the whole vector); an
/// embedding is [vocabulary, dimension] in both.</summary>
public readonly record struct WeightConstraint(ConstraintKind Kind, int Axis = 0, float Min = 0f, float Max = 1f, float Rate = 1f);
