// Each task is one image and one block of whole groups about a cache line of channels wide: its passes
// walk the image's pixels in order, reading only the block's channels, and sum per channel in double
// before summing a group's channels in channel order, so every sum has an order fixed by the shape. Tasks
// go image by image, so each thread takes its own share of the images (parallelFor), as the convolutions
// before and after do, and threads at work at once write different images: two blocks of one image share
// cache lines wherever the tensor is not 64-byte aligned (3× slower, measured).
#include "norm.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace crackdiff {
namespace {

using Index = std::ptrdiff_t;

constexpr int kBlockChannels = 16;
// Below this many floats the pool's wake-up costs more than a second thread saves.
constexpr Index kParallelFloats = 1 << 16;

struct Blocks {
  int cg, groupsPer, count;
  Blocks(const GroupNormShape& s)
      : cg(s.channels / s.groups), groupsPer(std::max(1, kBlockChannels / (s.channels / s.groups))) {
    count = (s.groups + groupsPer - 1) / groupsPer;
  }
};

// Per-channel values of a block on the stack when its width is known at compile time (kN > 0), so the
// loops over a pixel's channels unroll and vectorise; on the heap otherwise (3–4× slower). The UNet's 4
// channels a group give blocks of 4, 8, 12 or 16 channels, all compiled (a width of 12, 28, … made blocks
// of 12: 64×64×12 took 0.53 ms forward and 0.99 backward, 0.16 and 0.26 compiled).
template <class T, int kN>
struct Buffer {
  T v[kN];
  explicit Buffer(int, T fill = T()) { std::fill(v, v + kN, fill); }
  T& operator[](int i) { return v[i]; }
  T* begin() { return v; }
};
template <class T>
struct Buffer<T, 0> {
  std::vector<T> v;
  explicit Buffer(int n, T fill = T()) : v(n, fill) {}
  T& operator[](int i) { return v[i]; }
  T* begin() { return v.data(); }
};

// The pre-activation, written once for both directions so the backward's ReLU mask is the forward's.
inline float preact(float v, float mean, float scale, float shift) { return (v - mean) * scale + shift; }

// One task of the forward over channels [c0, c0 + n) of image b; kN is n when fixed at compile time.
template <int kN>
void forwardBlock(const GroupNormShape& s, int cg, int b, int c0, int nDynamic, const float* x, const float* t,
                  const float* gamma, const float* beta, float eps, float* y, float* stats) {
  const int n = kN ? kN : nDynamic;
  const int C = s.channels;
  const Index P = s.pixels;
  const float* xb = x + static_cast<Index>(b) * P * C + c0;
  float* yb = y + static_cast<Index>(b) * P * C + c0;
  Buffer<float, kN> tb(n), mean(n), scale(n), shift(n);
  if (t) std::copy(t + static_cast<Index>(b) * C + c0, t + static_cast<Index>(b) * C + c0 + n, tb.begin());
  Buffer<double, kN> acc(n);
  for (Index p = 0; p < P; p++) {
    const float* row = xb + p * C;
    for (int c = 0; c < n; c++) acc[c] += static_cast<double>(row[c] + tb[c]);
  }
  const double count = static_cast<double>(P) * cg;
    for (int g = 0; g < n / cg; g++) {
    double sum = 0.0;
    for (int c = g * cg; c < (g + 1) * cg; c++) sum += acc[c];
    for (int c = g * cg; c < (g + 1) * cg; c++) mean[c] = static_cast<float>(sum / count);
  }
  std::fill(acc.begin(), acc.begin() + n, 0.0);
  for (Index p = 0; p < P; p++) {
    const float* row = xb + p * C;
    for (int c = 0; c < n; c++) {
      const double d = static_cast<double>(row[c] + tb[c]) - mean[c];
      acc[c] += d * d;
    }
  }
  for (int g = 0; g < n / cg; g++) {
    double sum = 0.0;
    for (int c = g * cg; c < (g + 1) * cg; c++) sum += acc[c];
    const float rstd = static_cast<float>(1.0 / std::sqrt(sum / count + eps));
    float* st = stats + (static_cast<Index>(b) * s.groups + c0 / cg + g) * 2;
    st[0] = mean[g * cg];
    st[1] = rstd;
    for (int c = g * cg; c < (g + 1) * cg; c++) {
      scale[c] = rstd * gamma[c0 + c];
      shift[c] = beta[c0 + c];
    }
  }
  for (Index p = 0; p < P; p++) {
    const float* row = xb + p * C;
    float* out = yb + p * C;
    for (int c = 0; c < n; c++) {
      const float z = preact(row[c] + tb[c], mean[c], scale[c], shift[c]);
      out[c] = z > 0.0f ? z : (z != z ? z : 0.0f);
    }
  }
}

// One task of the backward; sumDz and sumDzXhat get the block's per-channel Σ dz and Σ dz·x̂ over pixels.
template <int kN>
void backwardBlock(const GroupNormShape& s, int cg, int b, int c0, int nDynamic, const float* x, const float* t,
                   const float* gamma, const float* beta, const float* stats, const float* dy, float* dx, float* dt,
                   double* sumDz, double* sumDzXhat) {
  const int n = kN ? kN : nDynamic;
  const int C = s.channels;
  const Index P = s.pixels;
  const Index offset = static_cast<Index>(b) * P * C + c0;
  const float *xb = x + offset, *dyb = dy + offset;
  float* dxb = dx + offset;
  Buffer<float, kN> tb(n), mean(n), rstd(n), scale(n), shift(n), g(n);
  if (t) std::copy(t + static_cast<Index>(b) * C + c0, t + static_cast<Index>(b) * C + c0 + n, tb.begin());
  for (int c = 0; c < n; c++) {
    const float* st = stats + (static_cast<Index>(b) * s.groups + (c0 + c) / cg) * 2;
    mean[c] = st[0];
    rstd[c] = st[1];
    g[c] = gamma[c0 + c];
    scale[c] = st[1] * g[c];
    shift[c] = beta[c0 + c];
  }
  Buffer<double, kN> s1(n), s2(n);
  for (Index p = 0; p < P; p++) {
    const float *row = xb + p * C, *grad = dyb + p * C;
    for (int c = 0; c < n; c++) {
      const float v = row[c] + tb[c];
      const float z = preact(v, mean[c], scale[c], shift[c]);
      const float dz = z > 0.0f ? grad[c] : (z != z ? z : 0.0f) * grad[c];
      const float xhat = (v - mean[c]) * rstd[c];
      s1[c] += dz;
      s2[c] += static_cast<double>(dz * xhat);
    }
  }
  // dx = r·(γ·dz − mean(γ·dz) − x̂·mean(γ·dz·x̂)), the means over the group's pixels and channels.
  const double count = static_cast<double>(P) * cg;
  Buffer<float, kN> m1(n), m2(n);
  for (int q = 0; q < n / cg; q++) {
    double a = 0.0, bsum = 0.0;
    for (int c = q * cg; c < (q + 1) * cg; c++) {
      a += g[c] * s1[c];
      bsum += g[c] * s2[c];
    }
    for (int c = q * cg; c < (q + 1) * cg; c++) {
      m1[c] = static_cast<float>(a / count);
      m2[c] = static_cast<float>(bsum / count);
    }
  }
  Buffer<double, kN> st(n);
  for (Index p = 0; p < P; p++) {
    const float *row = xb + p * C, *grad = dyb + p * C;
    float* out = dxb + p * C;
    for (int c = 0; c < n; c++) {
      const float v = row[c] + tb[c];
      const float z = preact(v, mean[c], scale[c], shift[c]);
      const float dz = z > 0.0f ? grad[c] : (z != z ? z : 0.0f) * grad[c];
      const float xhat = (v - mean[c]) * rstd[c];
      const float d = rstd[c] * (g[c] * dz - m1[c] - xhat * m2[c]);
      out[c] = d;
      st[c] += d;
    }
  }
  if (dt) {
    for (int c = 0; c < n; c++) dt[static_cast<Index>(b) * C + c0 + c] = static_cast<float>(st[c]);
  }
  std::copy(s1.begin(), s1.begin() + n, sumDz);
  std::copy(s2.begin(), s2.begin() + n, sumDzXhat);
}

int workersFor(const GroupNormShape& s) {
  return static_cast<Index>(s.batch) * s.pixels * s.channels < kParallelFloats ? 1 : threads();
}

}  // namespace

void groupNormReluForward(const GroupNormShape& s, const float* x, const float* t, const float* gamma,
                          const float* beta, float eps, float* y, float* stats) {
  const Blocks blocks(s);
  parallelFor(s.batch * blocks.count, workersFor(s), [&](int task, int) {
    const int b = task / blocks.count, g0 = (task % blocks.count) * blocks.groupsPer;
    const int c0 = g0 * blocks.cg, n = (std::min(s.groups, g0 + blocks.groupsPer) - g0) * blocks.cg;
    switch (n) {
      case 16: return forwardBlock<16>(s, blocks.cg, b, c0, n, x, t, gamma, beta, eps, y, stats);
      case 12: return forwardBlock<12>(s, blocks.cg, b, c0, n, x, t, gamma, beta, eps, y, stats);
      case 8: return forwardBlock<8>(s, blocks.cg, b, c0, n, x, t, gamma, beta, eps, y, stats);
      case 4: return forwardBlock<4>(s, blocks.cg, b, c0, n, x, t, gamma, beta, eps, y, stats);
      default: return forwardBlock<0>(s, blocks.cg, b, c0, n, x, t, gamma, beta, eps, y, stats);
    }
  });
}

void groupNormReluBackward(const GroupNormShape& s, const float* x, const float* t, const float* gamma,
                           const float* beta, const float* stats, const float* dy, float* dx, float* dt,
                           float* dgamma, float* dbeta) {
  const Blocks blocks(s);
  const int C = s.channels;
  // Per image and channel, summed over the images in order once all tasks are done.
  std::vector<double> sumDz(static_cast<std::size_t>(s.batch) * C), sumDzXhat(sumDz.size());
  parallelFor(s.batch * blocks.count, workersFor(s), [&](int task, int) {
    const int b = task / blocks.count, g0 = (task % blocks.count) * blocks.groupsPer;
    const int c0 = g0 * blocks.cg, n = (std::min(s.groups, g0 + blocks.groupsPer) - g0) * blocks.cg;
    double* s1 = sumDz.data() + static_cast<Index>(b) * C + c0;
    double* s2 = sumDzXhat.data() + static_cast<Index>(b) * C + c0;
    switch (n) {
      case 16: return backwardBlock<16>(s, blocks.cg, b, c0, n, x, t, gamma, beta, stats, dy, dx, dt, s1, s2);
      case 12: return backwardBlock<12>(s, blocks.cg, b, c0, n, x, t, gamma, beta, stats, dy, dx, dt, s1, s2);
      case 8: return backwardBlock<8>(s, blocks.cg, b, c0, n, x, t, gamma, beta, stats, dy, dx, dt, s1, s2);
      case 4: return backwardBlock<4>(s, blocks.cg, b, c0, n, x, t, gamma, beta, stats, dy, dx, dt, s1, s2);
      default: return backwardBlock<0>(s, blocks.cg, b, c0, n, x, t, gamma, beta, stats, dy, dx, dt, s1, s2);
    }
  });
  for (int c = 0; c < C; c++) {
    double a = 0.0, bsum = 0.0;
    for (int b = 0; b < s.batch; b++) {
      a += sumDz[static_cast<std::size_t>(b) * C + c];
      bsum += sumDzXhat[static_cast<std::size_t>(b) * C + c];
    }
    dbeta[c] = static_cast<float>(a);
    dgamma[c] = static_cast<float>(bsum);
  }
}

}  // namespace crackdiff
