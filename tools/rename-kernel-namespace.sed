# Moves the generated code's references to the runtime's hidden types from namespace FastRnn to FastRnn.Kernels
# (issue 9: what only generated code calls lives in FastRnn.Kernels, hidden from IntelliSense).
# Whole-word, qualified names only; re-apply it to the generator's sources and the generator snapshots:
#   sed -E -i -f tools/rename-kernel-namespace.sed generators/FastRnn.Generators/*.cs tests/FastRnn.Tests/Snapshots/*.g.cs.txt
# Idempotent: an already renamed name reads global::FastRnn.Kernels.X and does not match again.
# Names the generator builds from pieces ("global::FastRnn." + a name) are ParameterRole and TensorStorage, which stay
# in FastRnn; a new piece-built name of a moved type needs its own line here.
s/global::FastRnn\.(IBlock|Block|Block256|Block512|VectorPath)\b/global::FastRnn.Kernels.\1/g
s/global::FastRnn\.(InterleavedShape|InterleavedKernels|LayerNorm|BatchNorm)\b/global::FastRnn.Kernels.\1/g
s/global::FastRnn\.(MaskSite|Masks|DropoutSite|ZoneoutSite|CounterRandom)\b/global::FastRnn.Kernels.\1/g
s/global::FastRnn\.(Penalties|ActivationPenalty|Constraints)\b/global::FastRnn.Kernels.\1/g
