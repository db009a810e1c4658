// Memory-bound kernels for TensorFlow.js float32 tensors (NHWC): the pooling and resize gradients, the
// resize, concat and split, broadcast adds and multiplies, sums over leading or trailing axes; and small
// matrix products, where the cost is the call, not the arithmetic.
// workers/ml/kernels/native.ts runs them in place on the wasm backend's heap, where tfjs's own (or ours in
// JavaScript) spend far longer than the memory traffic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crackdiff {

struct PoolShape {
  int batch, inH, inW, channels;  // x and dx
  int outH, outW;                 // dy
  int kH, kW;
  int strideH, strideW;
  int padTop, padLeft;            // window origin offset before the first row / column
};

// dx = gradient of a max pool: each dy value is added to its window's maximum in x, the first one on ties
// (row-major within the window); when no value beats -∞ (all NaN or -∞), to the window's first pixel.
void maxPoolGrad(const PoolShape& s, const float* x, const float* dy, float* dx);

struct ResizeShape {
  int batch, inH, inW, channels;  // dx
  int outH, outW;                 // dy
  // A UNet's up path concatenates a skip tensor (outH × outW × skipChannels) after the resized channels: the
  // resize writes both, and its gradient splits them, without the intermediate tensors. 0: no skip.
  int skipChannels;
};

// dx[b, sourceRow[r], sourceCol[c], :] = Σ dy[b, r, c, :channels]: the adjoint of a nearest-neighbour resize
// that copied input pixel (sourceRow[r], sourceCol[c]) to output pixel (r, c); dskip[b, r, c, :] =
// dy[b, r, c, channels:] where skipChannels > 0.
void resizeNearestNeighborGrad(const ResizeShape& s, const int* sourceRow, const int* sourceCol, const float* dy,
                               float* dx, float* dskip);

// y[b, r, c, :] = x[b, sourceRow[r], sourceCol[c], :], followed by skip[b, r, c, :] where skipChannels > 0.
void resizeNearestNeighbor(const ResizeShape& s, const int* sourceRow, const int* sourceCol, const float* x,
                           const float* skip, float* y);

// out is `outer` rows, each the concatenation of one row of every input (input i's rows are lengths[i] long).
void concat(int outer, int count, const int* lengths, const float* const* inputs, float* out);
// The inverse: x's `outer` rows are cut into pieces of lengths[i] floats, piece i going to outputs[i].
void splitV(int outer, int count, const int* lengths, const float* x, float* const* outputs);

// out[i] = big[i] + small[i mod period] (or ×): an elementwise op whose smaller operand repeats as one
// block, like a bias over the channels or a scalar (period 1); period divides n.
void addOrMultiply(bool multiply, int n, int period, const float* big, const float* small, float* out);

// x read as a rows × cols matrix: out[c] = Σ_r x[r, c] (a sum over every axis but the trailing ones).
void sumLeadingAxes(int rows, int cols, const float* x, float* out);
// out[r] = Σ_c x[r, c] (a sum over the trailing axes).
void sumTrailingAxes(int rows, int cols, const float* x, float* out);

// out[i] = ReLU?(A[i]·B[i] + bias) for `batch` products of an M × K and a K × N matrix (A stored K × M when
// transposeA, B stored N × K when transposeB; aStride or bStride 0 to use one matrix for every i; bias N
// values or null). On one thread, for small products (a UNet's time embedding), where the wasm backend's
// XNNPACK packs B anew on every call.
struct MatMulShape {
  int batch, M, N, K;
  bool transposeA, transposeB;
  std::ptrdiff_t aStride, bStride;  // floats between consecutive A (B) matrices
};
void matMul(const MatMulShape& s, const float* a, const float* b, const float* bias, bool relu, float* out);

// y = max(x, 0) as tfjs's wasm ReLU computes it: NaN stays NaN, −0 becomes 0.
void relu(std::ptrdiff_t n, const float* x, float* y);
// dx = dy · step(x), ReLU's gradient as tfjs composes it (step: 1 where x > 0, NaN where x is NaN, else 0),
// in one pass: the same values, -0 and NaN included.
void reluGrad(std::ptrdiff_t n, const float* x, const float* dy, float* dx);

// The image score's segment means (workers/ml/heal.ts's lineMeans) of a size × size map: each pixel's largest
// mean over 8 segments, the d-th the pixels (x + dx[d·length + i], y + dy[d·length + i]) inside the map, summed
// in double in the order of i as the JavaScript version sums them, so the values are the same.
void lineMeans(int size, int length, const int32_t* dx, const int32_t* dy, const float* map, float* out);

// out = a·d + b·e, unfused (an exponential moving average: a the average, b the new value, e = 1 − d).
void ema(std::ptrdiff_t n, const float* a, const float* b, float d, float e, float* out);
// Σ x², each square rounded to float32 and summed as sumTrailingAxes sums (the same value as tfjs's
// sum(square(x)) on the wasm backend with these kernels).
float sumOfSquares(std::ptrdiff_t n, const float* x);

// One Adam step over `count` tensors (tfjs's AdamOptimizer), tensor i of n[i] values: m[i] and v[i] updated
// in place, the new weights written to wOut[i] (may be w[i]). The same float32 operations in the same
// order, unfused, so the results equal tfjs's chain of element-wise kernels. All tensors in one call, split
// across the threads together: a UNet's ~100 weight tensors are mostly too small to split one by one.
struct AdamScalars {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2;
  float oneMinusAccBeta1, oneMinusAccBeta2;  // bias corrections, 1 − β^t
  float epsilon, negLearningRate;
  float gradientScale;  // each gradient is first multiplied by this (the clipping factor, 1 for none)
};
void adam(int count, const std::ptrdiff_t* n, const AdamScalars& k, const float* const* w, float* const* m,
          float* const* v, const float* const* g, float* const* wOut);

}  // namespace crackdiff
