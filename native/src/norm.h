// GroupNorm for NHWC float32 tensors, fused with what a ResBlock puts around it: a per-image channel vector
// added before (the time projection, broadcast over height and width) and ReLU after. tfjs composes these
// from a dozen generic ops, each a pass over the activation; here the forward is three passes over one
// image's block of channels while it sits in cache, and the backward two.
#pragma once

namespace crackdiff {

struct GroupNormShape {
  int batch, pixels, channels, groups;  // x is [batch, pixels, channels]; groups divides channels
};

// v = x + t[b] (t [batch, channels], or null for none); per image and group of channels/groups consecutive
// channels, μ and σ² of v over the pixels and the group's channels; y = ReLU((v − μ)/√(σ² + eps)·γ + β).
// stats gets [batch, groups, 2]: μ and 1/√(σ² + eps), for the backward.
void groupNormReluForward(const GroupNormShape& s, const float* x, const float* t, const float* gamma,
                          const float* beta, float eps, float* y, float* stats);

// Gradients of Σ y·dy for the forward above (stats its output): dx, dt (null when t is), dgamma, dbeta.
// Sums run in double in a fixed order, so the result depends on the values alone, not on the threads.
void groupNormReluBackward(const GroupNormShape& s, const float* x, const float* t, const float* gamma,
                           const float* beta, const float* stats, const float* dy, float* dx, float* dt,
                           float* dgamma, float* dbeta);

}  // namespace crackdiff
