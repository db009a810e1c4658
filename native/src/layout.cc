// These kernels move each value once or twice, so their cost is memory traffic: they work row by row in
// the tensors' own layout (no transposes, no temporaries the size of a tensor) and split large tensors
// across the threads kernels.h's setThreads allows. Sums accumulate in double, as the cpu backend does.
#include "layout.h"

#include "parallel.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "kernels.h"

namespace crackdiff {
namespace {

using Index = std::ptrdiff_t;

// Below this many floats (2 MB), starting and joining a thread costs about what it saves: these kernels are
// bound by memory bandwidth, which one core nearly uses up.
constexpr Index kParallelFloats = 1 << 19;

int workersFor(Index floats) { return floats < kParallelFloats ? 1 : threads(); }

// Splits n items into tasks of about `grain` items (at least one task): [first, last) of task t.
struct Chunks {
  Index n, per;
  int count;
  Chunks(Index items, Index grain) : n(items), per(std::max<Index>(1, grain)) {
    count = static_cast<int>(std::max<Index>(1, (items + per - 1) / per));
  }
  Index first(int t) const { return std::min(n, t * per); }
  Index last(int t) const { return std::min(n, (t + 1) * per); }
};

// Rows per task so that one task moves about this many floats: large enough to amortise scheduling.
constexpr Index kTaskFloats = 1 << 15;

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

inline v8f load(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }
// The first n < 8 floats at p, the rest taken from fill.
inline v8f loadPartial(const float* p, int n, v8f fill) {
  for (int i = 0; i < n; i++) fill[i] = p[i];
  return fill;
}

// Whether some pooling window along one axis lies wholly in the padding.
bool anyEmptyWindow(int in, int out, int k, int stride, int pad) {
  for (int o = 0; o < out; o++) {
    const int start = o * stride - pad;
    if (std::min(in, start + k) <= std::max(0, start)) return true;
  }
  return false;
}

}  // namespace

void maxPoolGrad(const PoolShape& s, const float* x, const float* dy, float* dx) {
  const int C = s.channels;
  const Index imageSize = static_cast<Index>(s.inH) * s.inW * C, total = imageSize * s.batch;
  // An empty window (only possible with explicit padding) routes its dy to the index its clamped bounds
  // give, as the JavaScript kernel does; that index can lie in the next image, so then run images in order.
  const bool emptyWindows = anyEmptyWindow(s.inH, s.outH, s.kH, s.strideH, s.padTop) ||
                            anyEmptyWindow(s.inW, s.outW, s.kW, s.strideW, s.padLeft);
  const int workers = emptyWindows ? 1 : workersFor(total);
  if (emptyWindows) std::memset(dx, 0, sizeof(float) * total);
  const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
  parallelFor(s.batch, workers, [&](int b, int) {
    if (!emptyWindows) std::memset(dx + b * imageSize, 0, sizeof(float) * imageSize);
    const float* g = dy + static_cast<Index>(b) * s.outH * s.outW * C;
    const auto pixel = [&](int r, int c) {
      return static_cast<int32_t>(((static_cast<Index>(b) * s.inH + r) * s.inW + c) * C);
    };
    for (int oy = 0; oy < s.outH; oy++) {
      const int rowOrigin = oy * s.strideH - s.padTop;
      const int rowStart = std::max(0, rowOrigin), rowEnd = std::min(s.inH, rowOrigin + s.kH);
      for (int ox = 0; ox < s.outW; ox++, g += C) {
        const int colOrigin = ox * s.strideW - s.padLeft;
        const int colStart = std::max(0, colOrigin), colEnd = std::min(s.inW, colOrigin + s.kW);
        const int32_t start = pixel(rowStart, colStart);
        // Eight channels at a time, then one at a time. Strict > keeps the first maximum; the index stays
        // at the window's first pixel when nothing beats -∞.
        for (int d0 = 0; d0 < C; d0 += 8) {
          const int width = std::min(8, C - d0);
          v8f best = v8f{} - std::numeric_limits<float>::infinity();
          v8i at = start + d0 + lane;
          for (int r = rowStart; r < rowEnd; r++) {
            for (int c = colStart; c < colEnd; c++) {
              const int32_t base = pixel(r, c) + d0;
              const v8f v = width == 8 ? load(x + base) : loadPartial(x + base, width, best);
              const v8i greater = v > best;
              best = greater ? v : best;
              at = greater ? base + lane : at;
            }
          }
          const v8f grad = width == 8 ? load(g + d0) : loadPartial(g + d0, width, v8f{});
          if (emptyWindows) {
            for (int d = 0; d < width; d++) {
              if (at[d] >= 0 && at[d] < total) dx[at[d]] += grad[d];
            }
            continue;
          }
          // Every maximum lies in its window, so adding dy where the index matches and +0 elsewhere is the
          // scatter (dx starts at +0 and so never holds -0, which adding +0 would change).
          for (int r = rowStart; r < rowEnd; r++) {
            for (int c = colStart; c < colEnd; c++) {
              const int32_t base = pixel(r, c) + d0;
              const v8f add = at == base + lane ? grad : v8f{};
              if (width == 8) {
                store(dx + base, load(dx + base) + add);
              } else {
                for (int d = 0; d < width; d++) dx[base + d] += add[d];
              }
            }
          }
        }
      }
    }
  });
}

void resizeNearestNeighborGrad(const ResizeShape& s, const int* sourceRow, const int* sourceCol, const float* dy,
                               float* dx, float* dskip) {
  const int C = s.channels, S = s.skipChannels;
  const Index imageSize = static_cast<Index>(s.inH) * s.inW * C;
  const Index pixels = static_cast<Index>(s.outH) * s.outW, dyImageSize = pixels * (C + S);
  // Every source pixel lies in its own image, so images are independent.
  parallelFor(s.batch, workersFor(imageSize * s.batch + dyImageSize * s.batch), [&](int b, int) {
    float* image = dx + b * imageSize;
    std::memset(image, 0, sizeof(float) * imageSize);
    const float* g = dy + b * dyImageSize;
    float* skip = S ? dskip + b * pixels * S : nullptr;
    for (int r = 0; r < s.outH; r++) {
      float* row = image + static_cast<Index>(sourceRow[r]) * s.inW * C;
      for (int c = 0; c < s.outW; c++, g += C + S) {
        float* target = row + static_cast<Index>(sourceCol[c]) * C;
        for (int d = 0; d < C; d++) target[d] += g[d];
        if (S) std::memcpy(skip + (static_cast<Index>(r) * s.outW + c) * S, g + C, sizeof(float) * S);
      }
    }
  });
}

void resizeNearestNeighbor(const ResizeShape& s, const int* sourceRow, const int* sourceCol, const float* x,
                           const float* skip, float* y) {
  const int C = s.channels, S = s.skipChannels;
  const Index imageSize = static_cast<Index>(s.inH) * s.inW * C;
  const Index pixels = static_cast<Index>(s.outH) * s.outW, yImageSize = pixels * (C + S);
  parallelFor(s.batch, workersFor(yImageSize * s.batch), [&](int b, int) {
    const float* image = x + b * imageSize;
    const float* skipImage = S ? skip + b * pixels * S : nullptr;
    float* target = y + b * yImageSize;
    for (int r = 0; r < s.outH; r++) {
      const float* row = image + static_cast<Index>(sourceRow[r]) * s.inW * C;
      for (int c = 0; c < s.outW; c++, target += C + S) {
        std::memcpy(target, row + static_cast<Index>(sourceCol[c]) * C, sizeof(float) * C);
        if (S) std::memcpy(target + C, skipImage + (static_cast<Index>(r) * s.outW + c) * S, sizeof(float) * S);
      }
    }
  });
}

void concat(int outer, int count, const int* lengths, const float* const* inputs, float* out) {
  Index rowLength = 0;
  for (int i = 0; i < count; i++) rowLength += lengths[i];
  const Chunks rows(outer, kTaskFloats / std::max<Index>(1, rowLength));
  parallelFor(rows.count, workersFor(rowLength * outer), [&](int task, int) {
    for (Index row = rows.first(task); row < rows.last(task); row++) {
      float* target = out + row * rowLength;
      for (int i = 0; i < count; i++) {
        std::memcpy(target, inputs[i] + row * lengths[i], sizeof(float) * lengths[i]);
        target += lengths[i];
      }
    }
  });
}

void splitV(int outer, int count, const int* lengths, const float* x, float* const* outputs) {
  Index rowLength = 0;
  for (int i = 0; i < count; i++) rowLength += lengths[i];
  const Chunks rows(outer, kTaskFloats / std::max<Index>(1, rowLength));
  parallelFor(rows.count, workersFor(rowLength * outer), [&](int task, int) {
    for (Index row = rows.first(task); row < rows.last(task); row++) {
      const float* source = x + row * rowLength;
      for (int i = 0; i < count; i++) {
        std::memcpy(outputs[i] + row * lengths[i], source, sizeof(float) * lengths[i]);
        source += lengths[i];
      }
    }
  });
}

void addOrMultiply(bool multiply, int n, int period, const float* big, const float* small, float* out) {
  // Tasks cover whole periods when a period is short, so each walks its block from the start.
  const Index grain = period >= kTaskFloats ? kTaskFloats : std::max<Index>(1, kTaskFloats / period) * period;
  const Chunks chunks(n, grain);
  parallelFor(chunks.count, workersFor(n), [&](int task, int) {
    const Index first = chunks.first(task), last = chunks.last(task);
    if (period == 1) {
      const float s = small[0];
      if (multiply) {
        for (Index i = first; i < last; i++) out[i] = big[i] * s;
      } else {
        for (Index i = first; i < last; i++) out[i] = big[i] + s;
      }
      return;
    }
    for (Index i = first, j = first % period; i < last; j = 0) {
      const Index length = std::min(last - i, period - j);
      const float* __restrict a = big + i;
      const float* __restrict b = small + j;
      float* __restrict o = out + i;
      if (multiply) {
        for (Index k = 0; k < length; k++) o[k] = a[k] * b[k];
      } else {
        for (Index k = 0; k < length; k++) o[k] = a[k] + b[k];
      }
      i += length;
    }
  });
}

void matMul(const MatMulShape& s, const float* a, const float* b, const float* bias, bool relu, float* out) {
  const int M = s.M, N = s.N, K = s.K;
  std::vector<float> column(s.transposeA && s.transposeB ? K : 0);  // a row of A, gathered when A is stored K × M
  for (int i = 0; i < s.batch; i++) {
    const float* A = a + i * s.aStride;
    const float* B = b + i * s.bStride;
    for (int m = 0; m < M; m++) {
      float* __restrict row = out + (static_cast<std::ptrdiff_t>(i) * M + m) * N;
      if (!s.transposeB) {  // row = Σ_k A[m, k]·B[k, :], B's rows contiguous
        for (int n = 0; n < N; n++) row[n] = bias ? bias[n] : 0.0f;
        for (int k = 0; k < K; k++) {
          const float value = s.transposeA ? A[static_cast<std::ptrdiff_t>(k) * M + m] : A[static_cast<std::ptrdiff_t>(m) * K + k];
          const float* __restrict from = B + static_cast<std::ptrdiff_t>(k) * N;
          for (int n = 0; n < N; n++) row[n] += value * from[n];
        }
      } else {  // row[n] = A[m, :]·B[n, :], both contiguous
        const float* arow = A + static_cast<std::ptrdiff_t>(m) * K;
        if (s.transposeA) {
          for (int k = 0; k < K; k++) column[k] = A[static_cast<std::ptrdiff_t>(k) * M + m];
          arow = column.data();
        }
        for (int n = 0; n < N; n++) {
          const float* brow = B + static_cast<std::ptrdiff_t>(n) * K;
          constexpr int kLanes = 16;  // independent partial sums, so the loop vectorises
          float lanes[kLanes] = {};
          int k = 0;
          for (; k + kLanes <= K; k += kLanes)
            for (int l = 0; l < kLanes; l++) lanes[l] += arow[k + l] * brow[k + l];
          float sum = bias ? bias[n] : 0.0f;
          for (; k < K; k++) sum += arow[k] * brow[k];
          for (int l = 0; l < kLanes; l++) sum += lanes[l];
          row[n] = sum;
        }
      }
      if (relu)
        for (int n = 0; n < N; n++) row[n] = row[n] > 0.0f ? row[n] : 0.0f;
    }
  }
}

void sumLeadingAxes(int rows, int cols, const float* x, float* out) {
  // Per-task partial sums added in task order, so the result depends on the shape alone, not on timing.
  const Chunks chunks(rows, std::max<Index>(64, kTaskFloats * 4 / std::max(1, cols)));
  std::vector<double> partial(static_cast<std::size_t>(chunks.count) * cols, 0.0);
  parallelFor(chunks.count, workersFor(static_cast<Index>(rows) * cols), [&](int task, int) {
    // Accumulated apart from `partial`, whose neighbouring tasks' sums may share a cache line.
    std::vector<double> acc(cols, 0.0);
    for (Index r = chunks.first(task); r < chunks.last(task); r++) {
      const float* row = x + r * cols;
      for (int c = 0; c < cols; c++) acc[c] += row[c];
    }
    std::copy(acc.begin(), acc.end(), partial.begin() + static_cast<Index>(task) * cols);
  });
  for (int c = 0; c < cols; c++) {
    double sum = 0.0;
    for (int t = 0; t < chunks.count; t++) sum += partial[static_cast<std::size_t>(t) * cols + c];
    out[c] = static_cast<float>(sum);
  }
}

void sumTrailingAxes(int rows, int cols, const float* x, float* out) {
  constexpr int kLanes = 8;  // independent accumulators, so the adds vectorise without reassociation flags
  const Chunks chunks(rows, std::max<Index>(1, kTaskFloats / std::max(1, cols)));
  parallelFor(chunks.count, workersFor(static_cast<Index>(rows) * cols), [&](int task, int) {
    for (Index r = chunks.first(task); r < chunks.last(task); r++) {
      const float* row = x + r * cols;
      double lanes[kLanes] = {};
      int c = 0;
      for (; c + kLanes <= cols; c += kLanes) {
        for (int k = 0; k < kLanes; k++) lanes[k] += row[c + k];
      }
      double sum = 0.0;
      for (; c < cols; c++) sum += row[c];
      for (int k = 0; k < kLanes; k++) sum += lanes[k];
      out[r] = static_cast<float>(sum);
    }
  });
}

void relu(Index n, const float* x, float* y) {
  const Chunks chunks(n, kTaskFloats);
  parallelFor(chunks.count, workersFor(n * 2), [&](int task, int) {
    for (Index i = chunks.first(task); i < chunks.last(task); i++) y[i] = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f;
  });
}

void reluGrad(Index n, const float* x, const float* dy, float* dx) {
  const Chunks chunks(n, kTaskFloats);
  parallelFor(chunks.count, workersFor(n * 3), [&](int task, int) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (Index i = chunks.first(task); i < chunks.last(task); i++) {
      const float step = x[i] > 0.0f ? 1.0f : (x[i] != x[i] ? nan : 0.0f);
      dx[i] = dy[i] * step;
    }
  });
}

void lineMeans(int size, int length, const int32_t* dx, const int32_t* dy, const float* map, float* out) {
  std::vector<Index> flat(static_cast<std::size_t>(8) * length);
  int reach = 0;  // pixels at least this far from every border have whole segments: no bounds checks there
  for (int k = 0; k < 8 * length; k++) {
    flat[k] = static_cast<Index>(dy[k]) * size + dx[k];
    reach = std::max({reach, std::abs(dx[k]), std::abs(dy[k])});
  }
  for (int y = 0; y < size; y++) {
    for (int x = 0; x < size; x++) {
      const Index p = static_cast<Index>(y) * size + x;
      const bool inside = x >= reach && y >= reach && x < size - reach && y < size - reach;
      double best = 0.0;
      for (int d = 0; d < 8; d++) {
        double sum = 0.0;
        int n = 0;
        for (int k = d * length; k < (d + 1) * length; k++) {
          const int xx = x + dx[k], yy = y + dy[k];
          if (!inside && (xx < 0 || yy < 0 || xx >= size || yy >= size)) continue;
          sum += map[inside ? p + flat[k] : static_cast<Index>(yy) * size + xx];
          n++;
        }
        if (sum / n > best) best = sum / n;
      }
      out[p] = static_cast<float>(best);
    }
  }
}

namespace {

// fp-contract off: a fused multiply-add would round once where tfjs rounds twice.
__attribute__((optimize("fp-contract=off"))) void adamRange(Index first, Index last, const AdamScalars& k,
                                                            const float* w, float* m, float* v, const float* g,
                                                            float* wOut) {
  // The scalars as locals: read through k, each store to m or v might have changed them (all are floats), so
  // they were reloaded every element and the loop ran scalar.
  const AdamScalars c = k;
  for (Index i = first; i < last; i++) {
    const float gi = g[i] * c.gradientScale;  // x·1 = x: no scale, the same value
    const float mi = m[i] * c.beta1 + gi * c.oneMinusBeta1;
    const float vi = v[i] * c.beta2 + (gi * gi) * c.oneMinusBeta2;
    m[i] = mi;
    v[i] = vi;
    wOut[i] = ((mi / c.oneMinusAccBeta1) / (std::sqrt(vi / c.oneMinusAccBeta2) + c.epsilon)) * c.negLearningRate + w[i];
  }
}

__attribute__((optimize("fp-contract=off"))) void emaRange(Index first, Index last, const float* a, const float* b,
                                                           float d, float e, float* out) {
  for (Index i = first; i < last; i++) out[i] = a[i] * d + b[i] * e;
}

}  // namespace

void ema(Index n, const float* a, const float* b, float d, float e, float* out) {
  const Chunks chunks(n, kTaskFloats);
  parallelFor(chunks.count, workersFor(n * 3), [&](int task, int) {
    emaRange(chunks.first(task), chunks.last(task), a, b, d, e, out);
  });
}

float sumOfSquares(Index n, const float* x) {
  constexpr int kLanes = 8;  // as sumTrailingAxes
  double lanes[kLanes] = {};
  Index c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int k = 0; k < kLanes; k++) {
      const float square = x[c + k] * x[c + k];
      lanes[k] += square;
    }
  }
  double sum = 0.0;
  for (; c < n; c++) {
    const float square = x[c] * x[c];
    sum += square;
  }
  for (int k = 0; k < kLanes; k++) sum += lanes[k];
  return static_cast<float>(sum);
}

void adam(int count, const Index* n, const AdamScalars& k, const float* const* w, float* const* m, float* const* v,
          const float* const* g, float* const* wOut) {
  struct Task {
    int tensor;
    Index first, last;
  };
  std::vector<Task> tasks;
  Index total = 0;
  for (int i = 0; i < count; i++) {
    const Chunks chunks(n[i], kTaskFloats);
    for (int t = 0; t < chunks.count; t++) tasks.push_back({i, chunks.first(t), chunks.last(t)});
    total += n[i];
  }
  parallelFor(static_cast<int>(tasks.size()), workersFor(total * 5), [&](int task, int) {
    const Task& t = tasks[task];
    adamRange(t.first, t.last, k, w[t.tensor], m[t.tensor], v[t.tensor], g[t.tensor], wOut[t.tensor]);
  });
}

}  // namespace crackdiff
