// Every convolution here is a matrix product over im2col rows: row m of the im2col matrix holds the
// kH·kW·inC input values under output pixel m (zeros where the window leaves the image), so with
// K = kH·kW·inC and the filter read as a K × outC matrix W,
//   forward         y[m, n]  = Σ_k col[m, k] · W[k, n]
//   filter gradient dW[k, n] = Σ_m col[m, k] · dy[m, n]
//   input gradient  dcol[m, k] = Σ_n dy[m, n] · W[k, n], scattered back onto the pixels col[m, k] came from.
// All three run one register-blocked micro-kernel (MR × NR outputs, NR = 16 floats) on a few rows of im2col
// at a time, so the matrix is never materialised whole (where a window lies inside the image the forward
// pass reads x itself), and split the rows across threads. Plain C++ with GCC/Clang vector types, compiled
// for the building machine's CPU (binding.gyp): AVX-512, AVX2 + FMA, or whatever else it has.
#include "kernels.h"

#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace crackdiff {
namespace {

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));  // an unaligned 8-float load or store

// MR × NR tiles: MR rows of NR floats held in registers while the sum runs. With AVX-512 a row is one of 32
// registers, so 12 rows keep both FMA units busy; with AVX2 (16 registers) a row takes two, so 6 rows.
// CRACKDIFF_WIDE_TILES builds the AVX-512 tiles on any CPU (slowly), so their logic is tested everywhere.
#if defined(__AVX512F__) || defined(CRACKDIFF_WIDE_TILES)
constexpr int MR = 12;
#else
constexpr int MR = 6;
#endif
constexpr int NR = 16;
// The direct convolution's tiles run along an output row, whose widths are powers of two (64 … 8): with
// AVX-512, 8 rows divide them, where 12 left a partial block at each row's end (half the work wasted on
// 16- and 8-pixel rows) and 1×1 convolutions ran 15–40 % slower (measured). AVX2 keeps its 6 (4 and 8
// were slower).
#if defined(__AVX512F__) || defined(CRACKDIFF_WIDE_TILES)
constexpr int MRD = 8;
#else
constexpr int MRD = MR;
#endif
// Up to this many output channels, an NR-wide panel would be mostly padding (a UNet's last conv has one):
// the forward pass uses dot products and the filter gradient scaled-row additions instead.
constexpr int kNarrow = 4;
// Groups of rows whose filter-gradient sums are kept apart (conv2dBackpropFilter): a constant, so that
// the summation order, and with it the rounding, does not depend on the thread count or timing.
constexpr int kFilterGroups = 8;

std::atomic<int> threadCount{std::max(1, static_cast<int>(std::thread::hardware_concurrency()))};

inline int roundUp(int n, int to) { return (n + to - 1) / to * to; }

// out[i·NR + j] = Σ_{p<P} a[i·ai + p·ap] · b[p·NR + j] for i < R, j < NR (b is a packed NR-wide panel).
template <int R = MR>
inline void microKernel(const float* a, std::ptrdiff_t ai, std::ptrdiff_t ap, const float* b, int P, float* out,
                        int segments = 1, std::ptrdiff_t aSegment = 0) {
  // With segments > 1 the sum runs over `segments` runs of P, the s-th reading a + s·aSegment and the next
  // P rows of b: the direct convolution's filter rows, each a contiguous stretch of the image.
#if defined(__AVX512F__) || defined(CRACKDIFF_WIDE_TILES)
  typedef float v16 __attribute__((vector_size(64)));
  typedef float v16u __attribute__((vector_size(64), aligned(4)));
  v16 c[R] = {};
  for (int seg = 0; seg < segments; seg++, a += aSegment, b += static_cast<std::ptrdiff_t>(P) * NR) {
    for (int p = 0; p < P; p++) {
      const v16 bp = *reinterpret_cast<const v16u*>(b + p * NR);
      const float* ap_ = a + p * ap;
#pragma GCC unroll 16
      for (int i = 0; i < R; i++) {
        const float value = ap_[i * ai];
        c[i] += v16{value, value, value, value, value, value, value, value,
                    value, value, value, value, value, value, value, value} * bp;
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; i++) *reinterpret_cast<v16u*>(out + i * NR) = c[i];
#else
  v8 c[R][2] = {};
  for (int seg = 0; seg < segments; seg++, a += aSegment, b += static_cast<std::ptrdiff_t>(P) * NR) {
    for (int p = 0; p < P; p++) {
      const v8 b0 = *reinterpret_cast<const v8u*>(b + p * NR);
      const v8 b1 = *reinterpret_cast<const v8u*>(b + p * NR + 8);
      const float* ap_ = a + p * ap;
#pragma GCC unroll 16
      for (int i = 0; i < R; i++) {
        const float value = ap_[i * ai];
        const v8 x = {value, value, value, value, value, value, value, value};
        c[i][0] += x * b0;
        c[i][1] += x * b1;
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; i++) {
    *reinterpret_cast<v8u*>(out + i * NR) = c[i][0];
    *reinterpret_cast<v8u*>(out + i * NR + 8) = c[i][1];
  }
#endif
}

// Copies n floats: memcpy for long runs, a plain loop for the short ones (1–48 floats is typical), where a
// call or a vectorised loop's set-up costs more than the copy.
inline void copy(float* to, const float* from, int n) {
  if (n >= 64) {
    std::memcpy(to, from, sizeof(float) * n);
    return;
  }
  int i = 0;
  for (; i + 8 <= n; i += 8) *reinterpret_cast<v8u*>(to + i) = *reinterpret_cast<const v8u*>(from + i);
  for (; i < n; i++) to[i] = from[i];
}

// Writes im2col rows m0 … m0 + count − 1 (K = kH·kW·inC values each) to rows, row stride ld. Within a
// filter row the taps that fall inside the image are one contiguous run of x (NHWC), so each filter row
// is one copy plus zeros at the edges.
void im2colRows(const ConvShape& s, const float* x, int m0, int count, float* rows, int ld) {
  const int pixels = s.outH * s.outW, width = s.kW * s.inC;
  int b = m0 / pixels, oh = (m0 % pixels) / s.outW, ow = m0 % s.outW;
  for (int r = 0; r < count; r++, rows += ld) {
    const float* image = x + static_cast<std::size_t>(b) * s.inH * s.inW * s.inC;
    const int ih0 = oh * s.strideH - s.padTop, iw0 = ow * s.strideW - s.padLeft;
    float* row = rows;
    if (ih0 >= 0 && ih0 + s.kH <= s.inH && iw0 >= 0 && iw0 + s.kW <= s.inW) {  // the window is inside
      const float* from = image + (static_cast<std::size_t>(ih0) * s.inW + iw0) * s.inC;
      for (int kh = 0; kh < s.kH; kh++, row += width, from += s.inW * s.inC) copy(row, from, width);
    } else {
      const int first = std::clamp(-iw0, 0, s.kW), last = std::clamp(s.inW - iw0, first, s.kW);  // taps inside
      for (int kh = 0; kh < s.kH; kh++, row += width) {
        const int ih = ih0 + kh;
        if (ih < 0 || ih >= s.inH) {
          std::fill(row, row + width, 0.0f);
          continue;
        }
        std::fill(row, row + first * s.inC, 0.0f);
        copy(row + first * s.inC, image + (static_cast<std::size_t>(ih) * s.inW + iw0 + first) * s.inC,
             (last - first) * s.inC);
        std::fill(row + last * s.inC, row + width, 0.0f);
      }
    }
    if (++ow == s.outW) {
      ow = 0;
      if (++oh == s.outH) oh = 0, b++;
    }
  }
}

// Adds dcol row m (K values) back onto the pixels of dx that im2col row m was read from.
void col2imRow(const ConvShape& s, const float* row, int m, float* dx) {
  const int pixels = s.outH * s.outW;
  const int b = m / pixels, oh = (m % pixels) / s.outW, ow = m % s.outW;
  float* image = dx + static_cast<std::size_t>(b) * s.inH * s.inW * s.inC;
  for (int kh = 0; kh < s.kH; kh++) {
    const int ih = oh * s.strideH - s.padTop + kh;
    for (int kw = 0; kw < s.kW; kw++, row += s.inC) {
      const int iw = ow * s.strideW - s.padLeft + kw;
      if (ih < 0 || ih >= s.inH || iw < 0 || iw >= s.inW) continue;
      float* target = image + (static_cast<std::size_t>(ih) * s.inW + iw) * s.inC;
      for (int c = 0; c < s.inC; c++) target[c] += row[c];
    }
  }
}

// The rows × cols matrix src (row-major) cut into NR-wide column panels, each rows × NR and zero-padded:
// panel q holds src[r][q·NR + j] at [q][r][j].
std::vector<float> packPanels(const float* src, int rows, int cols) {
  const int panels = roundUp(cols, NR) / NR;
  std::vector<float> packed(static_cast<std::size_t>(panels) * rows * NR, 0.0f);
  for (int q = 0; q < panels; q++) {
    float* panel = packed.data() + static_cast<std::size_t>(q) * rows * NR;
    const int width = std::min(NR, cols - q * NR);
    for (int r = 0; r < rows; r++) copy(panel + r * NR, src + static_cast<std::size_t>(r) * cols + q * NR, width);
  }
  return packed;
}

std::vector<float> transposed(const float* src, int rows, int cols) {
  std::vector<float> t(static_cast<std::size_t>(rows) * cols);
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) t[static_cast<std::size_t>(c) * rows + r] = src[static_cast<std::size_t>(r) * cols + c];
  return t;
}

inline v8 load(const float* p) { return *reinterpret_cast<const v8u*>(p); }

// L floats as one vector (L = 8 or 16), for the Winograd transforms and the narrow kernels: 16 lanes where
// the channels come in sixteens and the CPU has AVX-512 (on Zen 5 the 64×64×16 convolutions then take
// 10–25 % less time), else 8.
template <int L>
struct Lanes {
  typedef float type __attribute__((vector_size(4 * L)));
  typedef float unaligned __attribute__((vector_size(4 * L), aligned(4)));
  static type load(const float* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(float* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
};
#if defined(__AVX512F__) || defined(CRACKDIFF_WIDE_TILES)
constexpr int kWideLanes = 16;
#else
constexpr int kWideLanes = 8;
#endif
// Keeps v in a register from here on, where it fits one: GCC otherwise folds a vector's load into each FMA
// that uses it, loading it again for every one (the 1×1 skip conv's filter rows: twice the loads).
template <class V>
inline void inRegister(V& v) {
#if defined(__GNUC__) && defined(__x86_64__)
  constexpr std::size_t registerBytes =
#if defined(__AVX512F__)
      64;
#elif defined(__AVX__)
      32;
#else
      16;
#endif
  if constexpr (sizeof(V) <= registerBytes) __asm__("" : "+v"(v));
#endif
}
// The widest lane count that divides n.
inline int lanesFor(int n) { return n % kWideLanes == 0 ? kWideLanes : 8; }

// The sum of a vector's lanes, halving it: a few shuffles and adds instead of one add per lane.
inline float sumLanes(Lanes<8>::type v) {
  typedef float v4 __attribute__((vector_size(16)));
  const v4 four = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
  return (four[0] + four[2]) + (four[1] + four[3]);
}
inline float sumLanes(Lanes<16>::type v) {
  return sumLanes(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15));
}

// out[i] = Σ over `segments` runs of n floats of a[i·ai + s·aSegment + k] · b[s·bSegment + k], for i < R: the
// narrow forward pass's dot products of R windows with one filter. R at once, so that R independent sums hide
// the adds' latency (one window at a time waited on it: 40 cycles a pixel) and share the filter's loads.
template <int R>
inline void dotRows(const float* a, std::ptrdiff_t ai, std::ptrdiff_t aSegment, const float* b, std::ptrdiff_t bSegment,
                    int n, int segments, float* out) {
  typedef Lanes<kWideLanes> V;
  typename V::type acc[R] = {};
  float tail[R] = {};
  for (int seg = 0; seg < segments; seg++, a += aSegment, b += bSegment) {
    int k = 0;
    for (; k + kWideLanes <= n; k += kWideLanes) {
      const typename V::type bv = V::load(b + k);
#pragma GCC unroll 16
      for (int i = 0; i < R; i++) acc[i] += V::load(a + i * ai + k) * bv;
    }
    for (; k < n; k++)
      for (int i = 0; i < R; i++) tail[i] += a[i * ai + k] * b[k];
  }
  for (int i = 0; i < R; i++) out[i] = tail[i] + sumLanes(acc[i]);
}

// Writes the first `rows` rows and `width` columns of a micro-kernel tile to out (row stride ldo), adding
// bias (NR values), applying ReLU, then adding the rows of `extra` (NR floats each) where given.
inline void storeTile(const float* tile, int rows, int width, const float* bias, bool relu, float* out, int ldo,
                      const float* extra = nullptr) {
  const v8 b0 = load(bias), b1 = load(bias + 8), zero = {};
  for (int i = 0; i < rows; i++, out += ldo) {
    v8 v0 = load(tile + i * NR) + b0, v1 = load(tile + i * NR + 8) + b1;
    if (relu) {
      v0 = v0 > zero ? v0 : zero;
      v1 = v1 > zero ? v1 : zero;
    }
    if (extra) {
      v0 += load(extra + i * NR);
      v1 += load(extra + i * NR + 8);
    }
    if (width == NR) {
      *reinterpret_cast<v8u*>(out) = v0;
      *reinterpret_cast<v8u*>(out + 8) = v1;
    } else {
      float row[NR];
      *reinterpret_cast<v8u*>(row) = v0;
      *reinterpret_cast<v8u*>(row + 8) = v1;
      copy(out, row, width);
    }
  }
}

// What the convolutions add to each output as they store it: the bias (one row of outC per image, or
// one shared row), ReLU, then the addend. The bias rows, and the addend's 1×1 filter and bias, padded to
// whole NR-wide panels.
struct Epilogue {
  std::vector<float> biases;
  int stride = 0;  // floats between two images' bias rows: 0 when shared
  bool relu = false;
  int N, padded;
  const float* residual;
  const float* source;
  int sourceC;
  std::vector<float> pointwise, pointwiseBias;  // sourceC × padded, padded
  Epilogue(const ConvShape& s, const float* bias, bool perImage, bool relu_, const Addend& add)
      : relu(relu_), N(s.outC), padded(roundUp(s.outC, NR)), residual(add.residual), source(add.source), sourceC(add.sourceC) {
    const int rows = perImage ? s.batch : 1;
    biases.assign(static_cast<std::size_t>(rows) * padded, 0.0f);
    if (bias)
      for (int r = 0; r < rows; r++) std::copy(bias + r * s.outC, bias + (r + 1) * s.outC, biases.begin() + r * padded);
    stride = perImage ? padded : 0;
    if (!source) return;
    pointwise.assign(static_cast<std::size_t>(sourceC) * padded, 0.0f);
    for (int c = 0; c < sourceC; c++)
      for (int n = 0; n < N; n++)
        pointwise[static_cast<std::size_t>(c) * padded + n] =
            add.transposed ? add.weights[static_cast<std::size_t>(n) * sourceC + c] : add.weights[static_cast<std::size_t>(c) * N + n];
    pointwiseBias.assign(padded, 0.0f);
    if (add.bias) std::copy(add.bias, add.bias + N, pointwiseBias.begin());
  }
  const float* bias(int image) const { return biases.data() + static_cast<std::size_t>(image) * stride; }
  bool adds() const { return residual || source; }
  // The addend of the `count` consecutive output pixels from p, channels n0 … n0 + width − 1 (n0 a multiple
  // of NR), into out: a row of NR floats per pixel.
  void addends(std::size_t p, int count, int n0, int width, float* out) const {
    if (residual) {
      for (int i = 0; i < count; i++) {
        copy(out + i * NR, residual + (p + i) * N + n0, width);
        std::fill(out + i * NR + width, out + (i + 1) * NR, 0.0f);
      }
      return;
    }
    // Four pixels at once where they come in fours: independent sums, each filter row loaded once for them.
    int i = 0;
    for (; i + 4 <= count; i += 4) pointwiseSums<4>(p + i, n0, out + i * NR);
    for (; i < count; i++) pointwiseSums<1>(p + i, n0, out + i * NR);
  }
  // source[p + i, :]·W + bias for i < R, channels n0 … n0 + NR − 1, into out (NR floats a pixel). Each
  // source value is broadcast once for all NR channels and each filter row loaded once for the R pixels
  // (a loop over NR in vectors outside the one over sourceC loaded twice as much); the sums go S ways over
  // the source channels, so that at least 8 chains of additions hide their latency.
  template <int R>
  void pointwiseSums(std::size_t p, int n0, float* out) const {
    typedef Lanes<kWideLanes> L;
    typedef typename L::type V;
    constexpr int W = NR / kWideLanes, S = R * W >= 8 ? 1 : (8 + R * W - 1) / (R * W);
    V sums[S][R][W] = {};
    const float* from = source + p * sourceC;
    const float* w = pointwise.data() + n0;
    const auto add = [&](int k, int c) {
      V row[W];
#pragma GCC unroll 4
      for (int v = 0; v < W; v++) {
        row[v] = L::load(w + static_cast<std::size_t>(c) * padded + v * kWideLanes);
        inRegister(row[v]);
      }
#pragma GCC unroll 8
      for (int i = 0; i < R; i++) {
        const float value = from[static_cast<std::size_t>(i) * sourceC + c];
#pragma GCC unroll 4
        for (int v = 0; v < W; v++) sums[k][i][v] += value * row[v];
      }
    };
    int c = 0;
    for (; c + S <= sourceC; c += S)
#pragma GCC unroll 8
      for (int k = 0; k < S; k++) add(k, c + k);
    for (; c < sourceC; c++) add(0, c);
    for (int i = 0; i < R; i++)
      for (int v = 0; v < W; v++) {
        V sum = L::load(pointwiseBias.data() + n0 + v * kWideLanes);
        for (int k = 0; k < S; k++) sum += sums[k][i][v];
        L::store(out + i * NR + v * kWideLanes, sum);
      }
  }
};

// out[r·os] = Σ_k mx[r][k] · in[k·is] for a constant matrix: unrolled, so zero terms drop out and ±1 need
// no multiplication.
template <int R, int K, class V>
inline void applyMatrix(const float (&mx)[R][K], const V* in, int is, V* out, int os) {
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    V acc = {};
    bool first = true;
#pragma GCC unroll 8
    for (int k = 0; k < K; k++) {
      const float c = mx[r][k];
      if (c == 0.0f) continue;
      const V v = in[k * is];
      if (first) acc = c == 1.0f ? v : c == -1.0f ? -v : v * c;
      else acc = c == 1.0f ? acc + v : c == -1.0f ? acc - v : acc + v * c;
      first = false;
    }
    out[r * os] = acc;
  }
}

// Winograd's F(m×m, 3×3) (Lavin & Gray 2016) for 3×3 stride-1 convolutions: each m×m block of outputs
// ("tile") from its α×α input window d (α = m + 2) as Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, summed over the input
// channels — α² products per tile and channel pair instead of 9m². The sum over channels is, for each of
// the α² positions ξ of the transformed tile, a matrix product of the tiles' transformed inputs V[ξ]
// (tiles × inC) with the transformed filter U[ξ] (inC × outC), run by the same micro-kernel on MR tiles.
// Tiles are numbered across the batch (image, tile row, tile column), so small images fill whole blocks.
// Every output is one fixed sequence of operations whichever thread computes it. m = 2 (16 products per
// 4 outputs) or m = 4 (36 per 16: fewer, with larger transforms and a filter 36/16 as large).
// Each struct's inputRows, outputRows and gradientRows apply Bᵀ, Aᵀ and A to one column (or row) of a
// tile, in at stride is, out at stride os.
template <int m>
struct Wino;
template <>
struct Wino<2> {
  static constexpr int a = 4;
  static constexpr float BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr float G[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
  static constexpr float AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static constexpr float A[4][2] = {{1, 0}, {1, 1}, {1, -1}, {0, -1}};
  template <class V>
  static void inputRows(const V* in, int is, V* out, int os) { applyMatrix(BT, in, is, out, os); }
  template <class V>
  static void outputRows(const V* in, int is, V* out, int os) { applyMatrix(AT, in, is, out, os); }
  template <class V>
  static void gradientRows(const V* in, int is, V* out, int os) { applyMatrix(A, in, is, out, os); }
};
// F(4×4)'s rows share terms (as in NNPACK and oneDNN): Bᵀ in 12 operations where its nonzero entries take
// 22, Aᵀ in 10 instead of 14, A in 8 instead of 12.
template <>
struct Wino<4> {
  static constexpr int a = 6;
  static constexpr float BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                     {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static constexpr float G[6][3] = {{1.0f / 4, 0, 0},
                                    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                    {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                    {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                    {0, 0, 1}};
  static constexpr float AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
  static constexpr float A[6][4] = {{1, 0, 0, 0}, {1, 1, 1, 1}, {1, -1, 1, -1}, {1, 2, 4, 8}, {1, -2, 4, -8}, {0, 0, 0, 1}};
  template <class V>
  static void inputRows(const V* d, int is, V* out, int os) {
    const V d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is], d4 = d[4 * is], d5 = d[5 * is];
    const V p = d4 - 4.0f * d2, q = d3 - 4.0f * d1, u = d4 - d2, w = d3 - d1;
    out[0] = d4 + 4.0f * d0 - 5.0f * d2;
    out[os] = p + q;
    out[2 * os] = p - q;
    out[3 * os] = u + 2.0f * w;
    out[4 * os] = u - 2.0f * w;
    out[5 * os] = d5 + 4.0f * d1 - 5.0f * d3;
  }
  template <class V>
  static void outputRows(const V* in, int is, V* out, int os) {
    const V s12 = in[is] + in[2 * is], d12 = in[is] - in[2 * is], s34 = in[3 * is] + in[4 * is], d34 = in[3 * is] - in[4 * is];
    out[0] = in[0] + s12 + s34;
    out[os] = d12 + 2.0f * d34;
    out[2 * os] = s12 + 4.0f * s34;
    out[3 * os] = d12 + 8.0f * d34 + in[5 * is];
  }
  template <class V>
  static void gradientRows(const V* g, int is, V* out, int os) {
    const V p = g[0] + g[2 * is], q = g[is] + g[3 * is], p4 = g[0] + 4.0f * g[2 * is], q4 = g[is] + 4.0f * g[3 * is];
    out[0] = g[0];
    out[os] = p + q;
    out[2 * os] = p - q;
    out[3 * os] = p4 + 2.0f * q4;
    out[4 * os] = p4 - 2.0f * q4;
    out[5 * os] = g[3 * is];
  }
};

// Bᵀ d B for the α×α window of one image at (ih0, iw0) (zeros outside it), L channels at a time: the
// inC values of position ξ go to out + ξ·stride. `inside`: the whole window is in the image.
template <int m, bool inside, int L>
inline void winogradInput(const ConvShape& s, const float* image, int ih0, int iw0, float* out, std::ptrdiff_t stride) {
  constexpr int a = Wino<m>::a;
  const int C = s.inC;
  const std::ptrdiff_t rowStride = static_cast<std::ptrdiff_t>(s.inW) * C;
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(ih0) * rowStride + static_cast<std::ptrdiff_t>(iw0) * C;
  bool ok[a][a];
  for (int r = 0; r < a; r++)
    for (int col = 0; col < a; col++)
      ok[r][col] = inside || (ih0 + r >= 0 && ih0 + r < s.inH && iw0 + col >= 0 && iw0 + col < s.inW);
  typedef Lanes<L> V;
  const typename V::type zero = {};
  // Bᵀ d column by column as d is loaded, then (Bᵀ d) B row by row as it is stored, every loop unrolled, so
  // the window and its transform are never all live at once (F(4×4)'s 36 values each outgrow the registers).
  // With the loops GCC left rolled, every value went through the stack: forward passes took 5–20 % longer.
  for (int c = 0; c < C; c += L) {
    typename V::type t[a][a];
#pragma GCC unroll 6
    for (int col = 0; col < a; col++) {
      typename V::type d[a];
#pragma GCC unroll 6
      for (int r = 0; r < a; r++) d[r] = inside || ok[r][col] ? V::load(image + base + r * rowStride + col * C + c) : zero;
      Wino<m>::inputRows(d, 1, &t[0][col], a);
    }
#pragma GCC unroll 6
    for (int r = 0; r < a; r++) {
      typename V::type v[a];
      Wino<m>::inputRows(&t[r][0], 1, v, 1);
#pragma GCC unroll 6
      for (int col = 0; col < a; col++) V::store(out + (r * a + col) * stride + c, v[col]);
    }
  }
}

// winogradInput for the window at (ih0, iw0) of image, as wide as inC allows.
template <int m>
inline void transformInput(const ConvShape& s, const float* image, int ih0, int iw0, float* out, std::ptrdiff_t stride) {
  constexpr int a = Wino<m>::a;
  const bool inside = ih0 >= 0 && ih0 + a <= s.inH && iw0 >= 0 && iw0 + a <= s.inW, wide = lanesFor(s.inC) == kWideLanes;
  if (inside && wide) winogradInput<m, true, kWideLanes>(s, image, ih0, iw0, out, stride);
  else if (inside) winogradInput<m, true, 8>(s, image, ih0, iw0, out, stride);
  else if (wide) winogradInput<m, false, kWideLanes>(s, image, ih0, iw0, out, stride);
  else winogradInput<m, false, 8>(s, image, ih0, iw0, out, stride);
}

template <int m>
void conv2dWinograd(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* y) {
  constexpr int a = Wino<m>::a, a2 = a * a;
  const int C = s.inC, N = s.outC, panelCount = roundUp(N, NR) / NR;
  const int tilesH = (s.outH + m - 1) / m, tilesW = (s.outW + m - 1) / m, tilesPerImage = tilesH * tilesW;
  const int tiles = s.batch * tilesPerImage, blocks = roundUp(tiles, MR) / MR;
  // U[ξ][q] is an inC × NR panel (zero-padded past outC): at ((ξ·panels + q)·C + c)·NR + j. Every value is
  // written below, so it starts uninitialised: zeroing it first was a tenth of an 8×8 convolution's time.
  const std::unique_ptr<float[]> U(new float[static_cast<std::size_t>(a2) * panelCount * C * NR]);
  // U = G g Gᵀ for each input channel and NR output channels at a time (the loops over j vectorise), an input
  // channel a task: on one thread, the others waiting, this was another tenth of a small convolution.
  parallelFor(C, threadCount.load(), [&](int c, int) {
    for (int q = 0; q < panelCount; q++) {
      const int n0 = q * NR, width = std::min(NR, N - n0);
      float g[3][3][NR] = {}, t[a][3][NR];
      for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++) copy(g[kh][kw], w + ((static_cast<std::size_t>(kh) * 3 + kw) * C + c) * N + n0, width);
      for (int r = 0; r < a; r++)  // t = G g
        for (int kw = 0; kw < 3; kw++)
          for (int j = 0; j < NR; j++)
            t[r][kw][j] = Wino<m>::G[r][0] * g[0][kw][j] + Wino<m>::G[r][1] * g[1][kw][j] + Wino<m>::G[r][2] * g[2][kw][j];
      for (int r = 0; r < a; r++)  // U = t Gᵀ
        for (int col = 0; col < a; col++) {
          float* to = U.get() + ((static_cast<std::size_t>(r * a + col) * panelCount + q) * C + c) * NR;
          for (int j = 0; j < NR; j++)
            to[j] = t[r][0][j] * Wino<m>::G[col][0] + t[r][1][j] * Wino<m>::G[col][1] + t[r][2][j] * Wino<m>::G[col][2];
        }
    }
  });
  const std::size_t vSize = static_cast<std::size_t>(a2) * MR * C, mSize = static_cast<std::size_t>(a2) * MR * NR;
  const int threads = threadCount.load();
  const std::unique_ptr<float[]> scratch(new float[threads * (vSize + mSize)]);  // written before it is read
  parallelFor(blocks, threads, [&](int block, int worker) {
    float* V = scratch.get() + worker * (vSize + mSize);  // V[ξ][i][c] at (ξ·MR + i)·C + c
    float* M = V + vSize;               // M[ξ] an MR × NR tile at ξ·MR·NR
    const int t0 = block * MR, count = std::min(MR, tiles - t0);
    for (int i = 0; i < MR; i++) {
      if (i >= count) {  // rows past the last tile: zeros, never stored
        for (int xi = 0; xi < a2; xi++) std::fill(V + (xi * MR + i) * C, V + (xi * MR + i + 1) * C, 0.0f);
        continue;
      }
      const int tile = t0 + i, b = tile / tilesPerImage, th = (tile % tilesPerImage) / tilesW, tw = tile % tilesW;
      transformInput<m>(s, x + static_cast<std::size_t>(b) * s.inH * s.inW * C, m * th - s.padTop,
                        m * tw - s.padLeft, V + i * C, static_cast<std::ptrdiff_t>(MR) * C);
    }
    for (int q = 0; q < panelCount; q++) {
      for (int xi = 0; xi < a2; xi++)
        microKernel(V + xi * MR * C, C, 1, U.get() + (static_cast<std::size_t>(xi) * panelCount + q) * C * NR, C,
                    M + xi * MR * NR);
      const int width = std::min(NR, N - q * NR);
      for (int i = 0; i < count; i++) {
        const int tile = t0 + i, b = tile / tilesPerImage, th = (tile % tilesPerImage) / tilesW, tw = tile % tilesW;
        const bool full = width == NR && m * th + m <= s.outH && m * tw + m <= s.outW;
        const int rows = std::min(m, s.outH - m * th), cols = std::min(m, s.outW - m * tw);
        const std::size_t pixel = (static_cast<std::size_t>(b) * s.outH + m * th) * s.outW + m * tw;
        float* const origin = y + pixel * N + q * NR;
        float extra[m][m][NR];
        if (e.adds())
          for (int r = 0; r < rows; r++) e.addends(pixel + static_cast<std::size_t>(r) * s.outW, cols, q * NR, width, extra[r][0]);
        float out[m][m][NR];
        for (int h = 0; h < NR; h += kWideLanes) {
          typedef Lanes<kWideLanes> L;
          typename L::type sr[m][a];  // Aᵀ M, column by column as M is loaded (as in winogradInput)
#pragma GCC unroll 6
          for (int col = 0; col < a; col++) {
            typename L::type mm[a];
#pragma GCC unroll 6
            for (int r = 0; r < a; r++) mm[r] = L::load(M + ((r * a + col) * MR + i) * NR + h);
            Wino<m>::outputRows(mm, 1, &sr[0][col], a);
          }
          const typename L::type bv = L::load(e.bias(b) + q * NR + h), zero = {};
#pragma GCC unroll 4
          for (int r = 0; r < m; r++) {
            typename L::type o[m];
            Wino<m>::outputRows(&sr[r][0], 1, o, 1);  // (Aᵀ M) A
#pragma GCC unroll 4
            for (int col = 0; col < m; col++) {
              typename L::type v = o[col] + bv;
              if (e.relu) v = v > zero ? v : zero;
              const std::size_t at = (static_cast<std::size_t>(r) * s.outW + col) * N + h;
              if (e.adds()) v += L::load(extra[r][col] + h);
              if (full) {
                L::store(origin + at, v);
              } else {
                L::store(out[r][col] + h, v);
              }
            }
          }
        }
        if (full) continue;
        for (int r = 0; r < rows; r++)
          for (int col = 0; col < cols; col++) copy(origin + (static_cast<std::size_t>(r) * s.outW + col) * N, out[r][col], width);
      }
    }
  });
}

// out[n] = Σ_g partials[g·N + n] for n < N, the groups added in order.
inline void sumGroups(const float* partials, int groups, int N, float* out) {
  std::copy(partials, partials + N, out);
  for (int g = 1; g < groups; g++)
    for (int n = 0; n < N; n++) out[n] += partials[static_cast<std::size_t>(g) * N + n];
}

// The algorithm choices below were measured per CPU maker and family.
bool intelCpu() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool intel = __builtin_cpu_is("intel");
  return intel;
#else
  return false;
#endif
}

// Whether forward convolutions on small images take F(2×2, 3×3) (conv3x3Tile): on Intel and on AMD from Zen 5
// (family 1Ah) on, with AVX-512 and AVX2 code alike; not on Zen 3 and Zen 4 (family 19h), nor on CPUs never
// measured (older AMD, non-x86).
bool smallImagesTakeF2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool f2 = [] {
    if (intelCpu()) return true;
    unsigned eax, ebx, ecx, edx;
    if (!__builtin_cpu_is("amd") || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    const unsigned family = (eax >> 8 & 0xf) + (eax >> 20 & 0xff);  // the extended family counts from 0xf
    return family >= 0x1a;
  }();
  return f2;
#else
  return false;
#endif
}

// How many groups a Winograd filter gradient's tasks are summed in (each group's partial dU written by its
// first task, added to by the rest, and read back once at the end): kFilterGroups, or on Intel, while the
// partials would together pass 1 MB, half as many, down to 2 (each of 2 threads then keeps adding to one
// partial in its own cache). F(4×4) at 16×16×128→64 has 1.2 MB partials: 8 of them took 1.57 ms warm and
// 2.3 cold, 2 took 1.17 and 1.5 (16×16×64→64: 0.88 against 0.68 warm). Halving, not dividing, keeps the count
// even, so 2 threads share the groups evenly (7 groups left one thread 4 of them: 64×64×16→16 27 % slower).
// A function of the shape alone, as the sums' order must be. The training step took 3–5 % less time on an
// Intel Xeon with AVX-512 code. Not measured on AMD (on Zen 5, 2 groups for every shape: 4 % more or the same).
int filterGroups(std::size_t partialSize, int tasks) {
  int groups = kFilterGroups;
  if (intelCpu())
    while (groups > 2 && groups * partialSize > 256 * 1024) groups /= 2;
  return std::min(groups, tasks);
}

// A dY Aᵀ for one tile's m×m block of dy at grad (rows × cols of it inside y, zeros past them; N channels a
// pixel, rowStride floats a row), channels n … n + L − 1: position ξ's values to out + ξ·stride. Adds the
// block's sum to bias + n where bias is given.
template <int m, int L>
inline void transformGradient(const float* grad, int N, std::ptrdiff_t rowStride, int rows, int cols, int n,
                              float* out, std::ptrdiff_t stride, float* bias) {
  constexpr int a = Wino<m>::a;
  typedef Lanes<L> V;
  typename V::type e[a][m];  // A dY, column by column as dY is loaded (as in winogradInput)
  const typename V::type zero = {};
  typename V::type sum = bias ? V::load(bias + n) : zero;
#pragma GCC unroll 4
  for (int col = 0; col < m; col++) {
    typename V::type g[m];
#pragma GCC unroll 4
    for (int r = 0; r < m; r++) {
      g[r] = r < rows && col < cols ? V::load(grad + r * rowStride + col * N + n) : zero;
      if (bias) sum += g[r];
    }
    Wino<m>::gradientRows(g, 1, &e[0][col], m);
  }
  if (bias) V::store(bias + n, sum);
#pragma GCC unroll 6
  for (int r = 0; r < a; r++) {
    typename V::type dm[a];
    Wino<m>::gradientRows(&e[r][0], 1, dm, 1);  // (A dY) Aᵀ
#pragma GCC unroll 6
    for (int col = 0; col < a; col++) V::store(out + (r * a + col) * stride, dm[col]);
  }
}

// The filter gradient of conv2dWinograd's convolution: with y's tiles Aᵀ[(G g Gᵀ) ⊙ V]A, the gradient of
// U = G g Gᵀ at position ξ is Σ over tiles of V[ξ]ᵀ (tiles × inC) times dM[ξ] (tiles × outC), dM = A dY Aᵀ
// for each tile's m×m block of dy, and dW = Gᵀ dU G. Blocks of tiles are summed in a fixed number of groups
// and the groups added in order, as in conv2dBackpropFilter, so the result does not depend on the threads.
template <int m>
void conv2dBackpropFilterWinograd(const ConvShape& s, const float* x, const float* dy, float* dw, float* db) {
  constexpr int a = Wino<m>::a, a2 = a * a;
  // The products' rows are input channels, R at a time: MRD (8 with AVX-512) where it divides C and blocks of
  // MR would add a third or more of zero rows. 16 channels in blocks of 12 computed 24 rows: with blocks of 8,
  // 64×64×16→16 takes 0.93 against 1.36 ms on Zen 4; 32 or 64 channels (an eighth more rows) were as fast
  // or faster in blocks of 12.
  const int C = s.inC, R = C % MRD == 0 && 3 * (roundUp(C, MR) - C) >= C ? MRD : MR;
  const int N = s.outC, Cp = roundUp(C, R), Np = roundUp(N, NR), panelCount = Np / NR;
  const int tilesH = (s.outH + m - 1) / m, tilesW = (s.outW + m - 1) / m, tilesPerImage = tilesH * tilesW;
  const int tiles = s.batch * tilesPerImage;
  // Tiles per task: V up to 256 KB, and at least 32, so that each task's products run long enough to be
  // worth adding to its group's partial sums (a2·Cp·Np floats, as large as V for deep layers). Against
  // 128 KB and 16, on Zen 4: up to 19 % less time (8×8×128→64), less at 9 of the teacher's 10 shapes with
  // AVX-512 code and 7 with AVX2 (the others up to 9 % more); the training step 1–3 % faster.
  const int T = std::clamp(64 * 1024 / (a2 * Cp), 32, 128);
  const std::size_t partialSize = static_cast<std::size_t>(a2) * Cp * Np;  // dU[ξ][c][n]
  const int tasks = roundUp(tiles, T) / T;
  const int groups = filterGroups(partialSize, tasks);
  const int workers = std::min(threadCount.load(), groups);
  const std::unique_ptr<float[]> partials(new float[groups * partialSize]);  // set by their groups' first tasks
  std::vector<float> biasPartials(db ? static_cast<std::size_t>(groups) * N : 0);  // Σ dy per group
  const std::size_t vSize = static_cast<std::size_t>(a2) * T * Cp, mSize = static_cast<std::size_t>(a2) * panelCount * T * NR;
  // Each worker's V and dM, uninitialised (zeroing them took a tenth of an 8×8 filter gradient) but for the
  // columns the transforms never write, past C in V and past N in dM's last panel: zeros, as those feed only
  // sums that are never read, but garbage there could be denormals, which are slow.
  const std::unique_ptr<float[]> scratch(new float[workers * (vSize + mSize)]);
  for (int worker = 0; worker < workers; worker++) {
    float* V = scratch.get() + worker * (vSize + mSize);
    for (std::size_t row = 0; row < static_cast<std::size_t>(a2) * T; row++) std::fill(V + row * Cp + C, V + (row + 1) * Cp, 0.0f);
    float* D = V + vSize;
    if (N % NR)
      for (std::size_t panel = panelCount - 1; panel < static_cast<std::size_t>(a2) * panelCount; panel += panelCount)
        for (int t = 0; t < T; t++) std::fill(D + (panel * T + t) * NR + N % NR, D + (panel * T + t + 1) * NR, 0.0f);
  }
  const int lanes = lanesFor(N);
  parallelFor(groups, workers, [&](int group, int worker) {
    float* V = scratch.get() + worker * (vSize + mSize);  // V[ξ][t][c] at (ξ·T + t)·Cp + c
    float* D = V + vSize;  // dM[ξ][q] a T × NR panel at ((ξ·panels + q)·T + t)·NR + j
    float* partial = partials.get() + group * partialSize;
    if (db) std::fill(biasPartials.begin() + static_cast<std::size_t>(group) * N, biasPartials.begin() + (group + 1) * N, 0.0f);
    const int firstTask = tasks * group / groups;
    for (int task = firstTask; task < tasks * (group + 1) / groups; task++) {
      const int t0 = task * T, count = std::min(T, tiles - t0);
      for (int i = 0; i < count; i++) {
        const int tile = t0 + i, b = tile / tilesPerImage, th = (tile % tilesPerImage) / tilesW, tw = tile % tilesW;
        transformInput<m>(s, x + static_cast<std::size_t>(b) * s.inH * s.inW * C, m * th - s.padTop,
                          m * tw - s.padLeft, V + static_cast<std::size_t>(i) * Cp, static_cast<std::ptrdiff_t>(T) * Cp);
        const float* grad = dy + ((static_cast<std::size_t>(b) * s.outH + m * th) * s.outW + m * tw) * N;
        const int rows = std::min(m, s.outH - m * th), cols = std::min(m, s.outW - m * tw);
        float* bias = db ? biasPartials.data() + static_cast<std::size_t>(group) * N : nullptr;
        const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(panelCount) * T * NR;
        const std::ptrdiff_t rowStride = static_cast<std::ptrdiff_t>(s.outW) * N;
        for (int n = 0; n < N; n += lanes) {
          float* to = D + (static_cast<std::size_t>(n / NR) * T + i) * NR + n % NR;
          if (lanes == kWideLanes) transformGradient<m, kWideLanes>(grad, N, rowStride, rows, cols, n, to, stride, bias);
          else transformGradient<m, 8>(grad, N, rowStride, rows, cols, n, to, stride, bias);
        }
      }
      float tile[MR * NR];
      for (int xi = 0; xi < a2; xi++) {
        for (int q = 0; q < panelCount; q++) {
          const float* panel = D + (static_cast<std::size_t>(xi) * panelCount + q) * T * NR;
          for (int c0 = 0; c0 < Cp; c0 += R) {
            const float* v = V + static_cast<std::size_t>(xi) * T * Cp + c0;
            if (R == MR) microKernel<MR>(v, 1, Cp, panel, count, tile);
            else microKernel<MRD>(v, 1, Cp, panel, count, tile);
            for (int i = 0; i < R; i++) {
              v8u* acc = reinterpret_cast<v8u*>(partial + (static_cast<std::size_t>(xi) * Cp + c0 + i) * Np + q * NR);
              if (task == firstTask) {  // the group's partial starts as its first task's sums
                acc[0] = load(tile + i * NR);
                acc[1] = load(tile + i * NR + 8);
              } else {
                acc[0] += load(tile + i * NR);
                acc[1] += load(tile + i * NR + 8);
              }
            }
          }
        }
      }
    }
  });
  // Per input channel (a task each, vectorised over the output channels): its rows of dU summed over the
  // groups in group order, then its 9 rows of dW = Gᵀ dU G. Serial, this was a large part of small layers.
  std::vector<std::vector<float>> rows(workers, std::vector<float>(static_cast<std::size_t>(a2 + 1) * Np));
  parallelFor(C, workers, [&](int c, int worker) {
    float* u = rows[worker].data();  // dU[ξ][c][·] at ξ·Np
    float* sum = u + a2 * Np;
    for (int xi = 0; xi < a2; xi++) {
      const float* first = partials.get() + (static_cast<std::size_t>(xi) * Cp + c) * Np;
      float* to = u + xi * Np;
      std::copy(first, first + N, to);
      for (int g = 1; g < groups; g++)
        for (int n = 0; n < N; n++) to[n] += first[g * partialSize + n];
    }
    for (int kh = 0; kh < 3; kh++)
      for (int kw = 0; kw < 3; kw++) {
        std::fill(sum, sum + N, 0.0f);
        for (int r = 0; r < a; r++)
          for (int col = 0; col < a; col++) {
            const float coef = Wino<m>::G[r][kh] * Wino<m>::G[col][kw];
            if (coef == 0.0f) continue;
            const float* from = u + (r * a + col) * Np;
            for (int n = 0; n < N; n++) sum[n] += coef * from[n];
          }
        std::copy(sum, sum + N, dw + ((static_cast<std::size_t>(kh) * 3 + kw) * C + c) * N);
      }
  });
  if (db) sumGroups(biasPartials.data(), groups, N, db);
}

// The algorithm of a 3×3 stride-1 forward convolution (an input gradient is one too) or filter gradient:
// Winograd's F(4×4, 3×3) or F(2×2, 3×3) (4 or 2). The fastest, measured per CPU on every teacher convolution
// (warm, 2 threads), is F(4×4) but for forward passes on 8×8 images where smallImagesTakeF2():
// - Intel (Emerald Rapids), AVX-512 and AVX2 code alike: 8×8×64→64 forward 0.31 against 0.34 ms with
//   AVX-512, 0.39 against 0.45 with AVX2 (the direct kernel 0.58 and 0.75); F(4×4) won every filter
//   gradient (16×16×64→64: 1.32 against 1.53 ms; 32×32×96→32: 3.2 against 4.0) and forward on 16×16 (0.93
//   against 1.29 ms) and 32×32×96→32 (2.4 against 3.2 ms).
// - Zen 5, since F(4×4)'s transforms share terms (Wino<4>): F(2×2) forward on 8×8×64→64 and 8×8×64→128
//   (0.14 and 0.28 against 0.19 and 0.37 ms; with AVX2 code 0.51 against 0.86 for the latter), F(4×4)
//   forward elsewhere (16×16×64→64: 0.36 against 0.48 ms; 32×32×96→32: 0.88 against 1.50) and in filter
//   gradients but two (32×32×96→32 1.49 against 1.86 ms, 16×16×128→64 1.21 against 1.41; F(2×2) for
//   those two left the training step unchanged); the direct kernel, its choice on 8×8 before, 1.2–2×
//   F(2×2)'s time there. Against the choices before (direct on 8×8, F(2×2) on 16×16 and past 2048
//   channel pairs) the training step took 4–8 % less time.
// - Zen 4 (AVX-512 or AVX2 code): F(4×4) everywhere. Forward on every image, whatever the channels
//   (16×16×64→64: 0.67 against 0.84 ms with AVX2, 1.03 against 1.14 with AVX-512; 32×32×96→32, a 1.2 MB
//   transform: 2.2 against 2.7 and 2.3 against 2.6 ms; 8×8: 0.22 against 0.39 ms direct with AVX-512).
//   Filter gradients 6–55 % less time than F(2×2) at every teacher shape, AVX-512 and AVX2 code alike
//   (16×16×64→64: 0.97 against 1.12 ms; 8×8×64→64 0.32 against 0.37; 32×32×96→32 3.8 against 4.8). Zen 3
//   (AVX2 only) agrees: F(2×2) took 12–66 % more time forward and 10–88 % more in filter gradients at every
//   teacher shape (32×32×32→32 forward: 1.26 against 0.79 ms), the direct kernel 1.3–2.9× F(4×4)'s.
#ifndef CRACKDIFF_WINO_M
inline int conv3x3Tile(const ConvShape& s, bool forward) {
  return forward && s.outH * s.outW <= 8 * 8 && smallImagesTakeF2() ? 2 : 4;
}
#else
inline int conv3x3Tile(const ConvShape&, bool) { return CRACKDIFF_WINO_M; }
#endif

// sums[n] += Σ_r rows[r·N + n] for r < count. Few channels go G rows at a time, as one run of G·N
// independent sums: one channel (a UNet's last conv) made a chain of dependent additions, a quarter of its
// filter gradient's time.
inline void addRowSums(const float* rows, int count, int N, float* sums) {
  const int G = std::max(1, 32 / N), run = G * N;
  float partial[64] = {};  // G·N < 64
  int r = 0;
  if (G > 1)
    for (; r + G <= count; r += G)
      for (int k = 0; k < run; k++) partial[k] += rows[static_cast<std::size_t>(r) * N + k];
  for (; r < count; r++)
    for (int n = 0; n < N; n++) sums[n] += rows[static_cast<std::size_t>(r) * N + n];
  if (G > 1)
    for (int g = 0; g < G; g++)
      for (int n = 0; n < N; n++) sums[n] += partial[g * N + n];
}

// The columns a convolution's windows reach in a zero-padded row (conv2dDirect's and
// conv2dBackpropFilterShallow's copies), for output rows of `columns` windows.
inline int paddedWidth(const ConvShape& s, int columns) {
  return std::max(s.inW + s.padLeft, (columns - 1) * s.strideW + s.kW);
}

// Input rows ih0 … ih0 + kH − 1 of one image (zeros outside it), each padded with padLeft zeros before and
// zeros after to `row` floats, into rows.
inline void padRows(const ConvShape& s, const float* image, int ih0, std::ptrdiff_t row, float* rows) {
  const std::ptrdiff_t imageRow = static_cast<std::ptrdiff_t>(s.inW) * s.inC;
  std::fill(rows, rows + s.kH * row, 0.0f);
  for (int r = 0; r < s.kH; r++)
    if (ih0 + r >= 0 && ih0 + r < s.inH) copy(rows + r * row + s.padLeft * s.inC, image + (ih0 + r) * imageRow, imageRow);
}

// A convolution to at most kNarrow output channels (a UNet's last), as dot products of each window with each
// filter, read straight from x: eight windows at a time along an output row (the last eight overlapping the
// ones before where the row's length is no multiple of eight), and at the borders one window at a time over
// the taps inside the image. No im2col: copying a border block's windows cost ten times their arithmetic.
void conv2dNarrow(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* y) {
  const int K = s.kH * s.kW * s.inC, N = s.outC, width = s.kW * s.inC;
  const std::vector<float> filters = transposed(w, K, N);  // a row of K per output channel
  const std::ptrdiff_t imageRow = static_cast<std::ptrdiff_t>(s.inW) * s.inC, ai = static_cast<std::ptrdiff_t>(s.strideW) * s.inC;
  // The output columns whose windows lie inside the image's width: [lo, hi).
  const int lo = std::min(s.outW, (s.padLeft + s.strideW - 1) / s.strideW);
  const int span = s.inW - s.kW + s.padLeft, hi = span < 0 ? lo : std::max(lo, std::min(s.outW, span / s.strideW + 1));
  std::vector<std::vector<float>> scratch(threadCount.load(), std::vector<float>(static_cast<std::size_t>(s.outW) * (N + NR)));
  parallelFor(s.batch * s.outH, threadCount.load(), [&](int task, int worker) {
    float* const extra = scratch[worker].data();  // the row's addends, NR floats a pixel
    const int b = task / s.outH, oh = task % s.outH, ih0 = oh * s.strideH - s.padTop;
    const int r0 = std::max(0, -ih0), r1 = std::min(s.kH, s.inH - ih0);  // the filter rows inside the image
    const float* rows = x + (static_cast<std::size_t>(b) * s.inH + ih0 + r0) * imageRow;
    const std::size_t m0 = static_cast<std::size_t>(task) * s.outW;
    const bool adds = e.adds(), relu = e.relu;
    if (adds) e.addends(m0, s.outW, 0, N, extra);
    for (int n = 0; n < N; n++) {
      float* const dots = extra + static_cast<std::size_t>(s.outW) * NR + static_cast<std::size_t>(n) * s.outW;
      const float* filter = filters.data() + static_cast<std::size_t>(n) * K + r0 * width;
      const auto single = [&](int ow) {  // one window, over its taps inside the image
        const int iw0 = ow * s.strideW - s.padLeft, c0 = std::max(0, -iw0), c1 = std::min(s.kW, s.inW - iw0);
        dotRows<1>(rows + (iw0 + c0) * s.inC, 0, imageRow, filter + c0 * s.inC, width, (c1 - c0) * s.inC, r1 - r0, dots + ow);
      };
      if (hi - lo < MRD) {
        for (int ow = 0; ow < s.outW; ow++) single(ow);
      } else {
        for (int ow = lo; ow < hi; ow += MRD) {
          const int start = std::min(ow, hi - MRD);
          dotRows<MRD>(rows + (start * s.strideW - s.padLeft) * s.inC, ai, imageRow, filter, width, width, r1 - r0, dots + start);
        }
        for (int ow = 0; ow < lo; ow++) single(ow);
        for (int ow = hi; ow < s.outW; ow++) single(ow);
      }
      const float bias = e.bias(b)[n];
      float* out = y + m0 * N + n;
      for (int ow = 0; ow < s.outW; ow++) {
        float v = bias + dots[ow];
        if (relu) v = std::max(v, 0.0f);
        out[static_cast<std::size_t>(ow) * N] = adds ? v + extra[ow * NR + n] : v;
      }
    }
  });
}

void conv2dDirect(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* y) {
  const int K = s.kH * s.kW * s.inC, N = s.outC, width = s.kW * s.inC;
  const int panelCount = roundUp(N, NR) / NR;
  const std::vector<float> panels = packPanels(w, K, N);
  const std::ptrdiff_t imageRow = static_cast<std::ptrdiff_t>(s.inW) * s.inC;
  // Few input channels (an image's 1 or 3): each task first copies its kH input rows, zero-padded out to
  // every column its blocks' windows reach (a few hundred floats), and no block needs im2col at the
  // borders, where a window's short runs cost more than its arithmetic.
  const bool padded = s.inC <= 4;
  const std::ptrdiff_t paddedRow = static_cast<std::ptrdiff_t>(paddedWidth(s, roundUp(s.outW, MRD))) * s.inC;
  const std::size_t rowsSize = padded ? s.kH * paddedRow : static_cast<std::size_t>(MRD) * K;
  std::vector<std::vector<float>> scratch(threadCount.load(), std::vector<float>(rowsSize + 2 * MRD * NR));
  // One task per output row, in blocks of MRD pixels. Where a block's windows lie inside the image, the
  // kernels read x directly (filter row by filter row: each is one contiguous run of x); only blocks at
  // the borders are copied into im2col rows with their zero padding first.
  parallelFor(s.batch * s.outH, threadCount.load(), [&](int task, int worker) {
    float* rows = scratch[worker].data();
    float* tile = rows + rowsSize;
    float* extra = tile + MRD * NR;  // the addends of a block
    const int b = task / s.outH, oh = task % s.outH, ih0 = oh * s.strideH - s.padTop;
    const bool rowsInside = ih0 >= 0 && ih0 + s.kH <= s.inH;
    const float* image = x + static_cast<std::size_t>(b) * s.inH * imageRow;
    if (padded) padRows(s, image, ih0, paddedRow, rows);
    // Filter rows of a window: image rows apart in x, or in the padded copy.
    const std::ptrdiff_t segment = padded ? paddedRow : imageRow;
    for (int ow0 = 0; ow0 < s.outW; ow0 += MRD) {
      const int count = std::min(MRD, s.outW - ow0), m0 = task * s.outW + ow0;
      const int iw0 = ow0 * s.strideW - s.padLeft, iwLast = (ow0 + MRD - 1) * s.strideW - s.padLeft;
      const bool direct = padded || (rowsInside && count == MRD && iw0 >= 0 && iwLast + s.kW <= s.inW);
      // Row i of the block: at a + i·ai, its filter rows `segment` apart (im2col rows: one segment of K).
      const float* a = padded ? rows + static_cast<std::ptrdiff_t>(ow0) * s.strideW * s.inC
                       : direct ? image + ih0 * imageRow + static_cast<std::ptrdiff_t>(iw0) * s.inC
                                : rows;
      const std::ptrdiff_t ai = direct ? static_cast<std::ptrdiff_t>(s.strideW) * s.inC : K;
      const int segments = direct ? s.kH : 1, P = direct ? width : K;
      if (!direct) {
        im2colRows(s, x, m0, count, rows, K);
        std::fill(rows + count * K, rows + MRD * K, 0.0f);
      }
      for (int q = 0; q < panelCount; q++) {
        microKernel<MRD>(a, ai, 1, panels.data() + static_cast<std::size_t>(q) * K * NR, P, tile, segments, segment);
        const int width = std::min(NR, N - q * NR);
        if (e.adds()) e.addends(m0, count, q * NR, width, extra);
        storeTile(tile, count, width, e.bias(b) + q * NR, e.relu, y + static_cast<std::size_t>(m0) * N + q * NR, N,
                  e.adds() ? extra : nullptr);
      }
    }
  });
}

// The filter gradient over few input channels (an image's 1 or 3, K = kH·kW·inC ≤ kShallowK): along each
// output row, every pixel's NR gradients times each of its window's K inputs, read from zero-padded rows,
// summed into K accumulators; no im2col, whose short runs cost more than the arithmetic at this depth.
// Rows are summed in a fixed number of groups, added in order, as in conv2dBackpropFilterIm2col.
constexpr int kShallowK = 36;
// One output row's share of conv2dBackpropFilterShallow, added to partial (K + 1 rows of Np: dW, then Σ dy);
// KT = K when known at compile time, else 0.
template <int KT>
void shallowRowGradient(const ConvShape& s, const float* rows, std::ptrdiff_t row, const float* grad, float* partial) {
  typedef Lanes<kWideLanes> V;
  constexpr int H = NR / kWideLanes;  // vectors per panel row
  const int K = KT ? KT : s.kH * s.kW * s.inC, N = s.outC, Np = roundUp(N, NR), window = KT ? KT / 3 : s.kW * s.inC;
  for (int n0 = 0; n0 < N; n0 += NR) {
    const int width = std::min(NR, N - n0);
    typename V::type acc[(KT ? KT : kShallowK) + 1][H] = {};  // the last: Σ dy
    for (int ow = 0; ow < s.outW; ow++) {
      float padded[NR] = {};
      const float* from = grad + static_cast<std::size_t>(ow) * N + n0;
      if (width < NR) from = static_cast<const float*>(std::memcpy(padded, from, sizeof(float) * width));
      typename V::type d[H];
      for (int h = 0; h < H; h++) acc[K][h] += d[h] = V::load(from + h * kWideLanes);
      const float* inputs = rows + static_cast<std::ptrdiff_t>(ow) * s.strideW * s.inC;
      for (int k = 0; k < K; k++) {
        const float value = inputs[(k / window) * row + k % window];
        for (int h = 0; h < H; h++) acc[k][h] += value * d[h];
      }
    }
    for (int k = 0; k <= K; k++)
      for (int h = 0; h < H; h++) {
        float* to = partial + static_cast<std::size_t>(k) * Np + n0 + h * kWideLanes;
        V::store(to, V::load(to) + acc[k][h]);
      }
  }
}

void conv2dBackpropFilterShallow(const ConvShape& s, const float* x, const float* dy, float* dw, float* db) {
  const int K = s.kH * s.kW * s.inC, N = s.outC, Np = roundUp(N, NR), outRows = s.batch * s.outH;
  const int groups = std::min(outRows, kFilterGroups), workers = std::min(threadCount.load(), groups);
  const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(paddedWidth(s, s.outW)) * s.inC;
  std::vector<float> partials(static_cast<std::size_t>(groups) * (K + 1) * Np, 0.0f);  // dW rows, then Σ dy
  std::vector<std::vector<float>> scratch(workers, std::vector<float>(s.kH * row));
  parallelFor(groups, workers, [&](int group, int worker) {
    float* rows = scratch[worker].data();
    float* partial = partials.data() + static_cast<std::size_t>(group) * (K + 1) * Np;
    for (int task = outRows * group / groups; task < outRows * (group + 1) / groups; task++) {
      const int b = task / s.outH, oh = task % s.outH;
      padRows(s, x + static_cast<std::size_t>(b) * s.inH * s.inW * s.inC, oh * s.strideH - s.padTop, row, rows);
      const float* grad = dy + static_cast<std::size_t>(task) * s.outW * N;
      // Compiled for 3×3 filters over 1 and 3 channels, so the sums stay in registers.
      if (K == 9 && s.kH == 3) shallowRowGradient<9>(s, rows, row, grad, partial);
      else if (K == 27 && s.kH == 3) shallowRowGradient<27>(s, rows, row, grad, partial);
      else shallowRowGradient<0>(s, rows, row, grad, partial);
    }
  });
  for (int k = 0; k <= K; k++) {
    for (int n = 0; n < N; n++) {
      float sum = 0.0f;
      for (int g = 0; g < groups; g++) sum += partials[(static_cast<std::size_t>(g) * (K + 1) + k) * Np + n];
      if (k < K) dw[static_cast<std::size_t>(k) * N + n] = sum;
      else if (db) db[n] = sum;
    }
  }
}

// The narrow filter gradient's run of windows (conv2dBackpropFilterIm2col): for G vectors of a window's rows
// from the v0-th (vector v: the (v % vectors)-th of filter row v / vectors), dWᵀ's row (filter rows `width`
// apart) += Σ over the run's windows j of x's (windows `step` apart in x, filter rows `imageRow` apart)
// times d[j·dStride], the G sums in registers.
template <int G>
inline void runSums(int v0, int vectors, const float* x, std::ptrdiff_t imageRow, std::ptrdiff_t step, const float* d,
                    int dStride, int run, float* row, int width) {
  typedef Lanes<kWideLanes> V;
  const float* from[G];
  float* to[G];
  typename V::type sum[G];
  for (int g = 0; g < G; g++) {
    const int kh = (v0 + g) / vectors, k = (v0 + g) % vectors * kWideLanes;
    from[g] = x + kh * imageRow + k;
    to[g] = row + kh * width + k;
    sum[g] = V::load(to[g]);
  }
  for (int j = 0; j < run; j++) {
    const float dj = d[j * dStride];
#pragma GCC unroll 12
    for (int g = 0; g < G; g++) sum[g] += V::load(from[g] + j * step) * dj;
  }
  for (int g = 0; g < G; g++) V::store(to[g], sum[g]);
}

template <int G = 12>
inline void runSums(int count, int v0, int vectors, const float* x, std::ptrdiff_t imageRow, std::ptrdiff_t step,
                    const float* d, int dStride, int run, float* row, int width) {
  if constexpr (G > 1)
    if (count < G) return runSums<G - 1>(count, v0, vectors, x, imageRow, step, d, dStride, run, row, width);
  runSums<G>(v0, vectors, x, imageRow, step, d, dStride, run, row, width);
}

void conv2dBackpropFilterIm2col(const ConvShape& s, const float* x, const float* dy, float* dw, float* db) {
  const int K = s.kH * s.kW * s.inC, N = s.outC, M = s.batch * s.outH * s.outW;
  const bool narrow = N <= kNarrow;
  // dW's rows R at a time: MRD (8 with AVX-512) where it divides K and MR does not, so that 1×1 convolutions
  // of 16 … 128 channels need no padded copy of x (below) and compute no rows of zeros.
  const int R = K % MR != 0 && K % MRD == 0 ? MRD : MR;
  const int Kp = roundUp(K, R), Np = roundUp(N, NR), panelCount = Np / NR;
  const bool onePanel = N == NR;  // dy's rows are then the panel's: read in place, not copied
  // A 1×1 convolution's im2col rows are x's pixels: read in place where no row needs padding to Kp.
  const bool pointwise = s.kH == 1 && s.kW == 1 && s.strideH == 1 && s.strideW == 1 && s.padTop == 0 &&
                         s.padLeft == 0 && K == Kp;
  // Rows per task: enough to amortise the accumulators' loads and stores, few enough to stay in cache.
  const int rowsPerTask = std::clamp(48 * 1024 / Kp, 16, 512);
  const int tasks = roundUp(M, rowsPerTask) / rowsPerTask;
  // The tasks fall into a fixed number of groups, each summed in order into its own partial dW and the
  // partials added in group order: the result then depends on the shape alone, not on which thread ran
  // what (per-thread sums made training runs differ from one run to the next).
  const int groups = std::min(tasks, kFilterGroups);
  const int workers = std::min(threadCount.load(), groups);
  const std::size_t partialSize = static_cast<std::size_t>(Kp) * Np;  // or N × Kp (dWᵀ) when narrow
  const std::unique_ptr<float[]> partials(new float[groups * partialSize]);  // zeroed by their groups' tasks
  std::vector<float> biasPartials(db ? static_cast<std::size_t>(groups) * N : 0);  // Σ dy per group
  struct Scratch {
    std::vector<float> cols, dyPanels;
  };
  std::vector<Scratch> scratch(workers);
  for (auto& sc : scratch) {
    if (!pointwise) sc.cols.assign(static_cast<std::size_t>(rowsPerTask) * Kp, 0.0f);  // pointwise: x in place
    if (!narrow && !onePanel) sc.dyPanels.assign(static_cast<std::size_t>(panelCount) * rowsPerTask * NR, 0.0f);
  }
  parallelFor(groups, workers, [&](int group, int worker) {
    Scratch& sc = scratch[worker];
    float* partial = partials.get() + group * partialSize;
    std::fill(partial, partial + partialSize, 0.0f);
    float* bias = db ? biasPartials.data() + static_cast<std::size_t>(group) * N : nullptr;
    if (bias) std::fill(bias, bias + N, 0.0f);
    for (int task = tasks * group / groups; task < tasks * (group + 1) / groups; task++) {
      const int m0 = task * rowsPerTask, count = std::min(rowsPerTask, M - m0);
      if (bias) addRowSums(dy + static_cast<std::size_t>(m0) * N, count, N, bias);
      if (narrow) {
        // dWᵀ[n, :] += dy[m, n] · col[m, :], a scaled row added per output channel. Where the window lies
        // inside the image, col[m, :] is kH runs of x read in place; elsewhere one im2col row. A run of
        // neighbouring windows along an output row, all inside, goes together, dWᵀ's row summed in registers
        // over the whole run (runs of 8 windows stored and reloaded it after each: a 64×64×16→1 layer took
        // 0.29 ms where this takes 0.18).
        const int width = s.kW * s.inC, pixels = s.outH * s.outW, vectors = width / kWideLanes;
        const std::ptrdiff_t imageRow = static_cast<std::ptrdiff_t>(s.inW) * s.inC, step = s.strideW * s.inC;
        for (int r = 0; r < count; r++) {
          const int m = m0 + r, b = m / pixels, oh = (m % pixels) / s.outW, ow = m % s.outW;
          const int ih0 = oh * s.strideH - s.padTop, iw0 = ow * s.strideW - s.padLeft;
          const bool rowsInside = ih0 >= 0 && ih0 + s.kH <= s.inH;
          // The windows from ow on inside the image, in this output row and this task.
          const int run = !rowsInside || iw0 < 0 ? 0
                          : std::min({count - r, s.outW - ow, (s.inW - s.kW - iw0) / s.strideW + 1});
          if (run > 1) {
            const float* col = x + (static_cast<std::size_t>(b) * s.inH + ih0) * imageRow + static_cast<std::ptrdiff_t>(iw0) * s.inC;
            for (int n = 0; n < N; n++) {
              const float* d = dy + static_cast<std::size_t>(m) * N + n;
              float* row = partial + static_cast<std::size_t>(n) * Kp;
              // in even groups of at most 12 (a group of one waits on its additions' latency)
              const int total = s.kH * vectors, groups = (total + 11) / 12;
              for (int g = 0; g < groups; g++) {
                const int v0 = total * g / groups, v1 = total * (g + 1) / groups;
                runSums(v1 - v0, v0, vectors, col, imageRow, step, d, N, run, row, width);
              }
              for (int kh = 0; kh < s.kH; kh++)  // the columns past the vectors
                for (int k = vectors * kWideLanes; k < width; k++)
                  for (int j = 0; j < run; j++) row[kh * width + k] += col[kh * imageRow + j * step + k] * d[j * N];
            }
            r += run - 1;
            continue;
          }
          const bool inside = rowsInside && iw0 >= 0 && iw0 + s.kW <= s.inW;
          const float* col = sc.cols.data();
          std::ptrdiff_t segment = width;  // col's filter rows: consecutive, or image rows apart in x
          if (inside) {
            col = x + (static_cast<std::size_t>(b) * s.inH + ih0) * imageRow + static_cast<std::ptrdiff_t>(iw0) * s.inC;
            segment = imageRow;
          } else {
            im2colRows(s, x, m, 1, sc.cols.data(), Kp);
          }
          for (int n = 0; n < N; n++) {
            const float d = dy[static_cast<std::size_t>(m) * N + n];
            float* acc = partial + static_cast<std::size_t>(n) * Kp;
            for (int kh = 0; kh < s.kH; kh++) {
              const float* __restrict from = col + kh * segment;
              float* __restrict to = acc + kh * width;
              for (int k = 0; k < width; k++) to[k] += from[k] * d;
            }
          }
        }
        continue;
      }
      const float* cols = pointwise ? x + static_cast<std::size_t>(m0) * K : sc.cols.data();
      if (!pointwise) im2colRows(s, x, m0, count, sc.cols.data(), Kp);
      for (int q = 0; q < panelCount && !onePanel; q++) {
        float* panel = sc.dyPanels.data() + static_cast<std::size_t>(q) * rowsPerTask * NR;
        const int n0 = q * NR, width = std::min(NR, N - n0);
        for (int r = 0; r < count; r++) copy(panel + r * NR, dy + static_cast<std::size_t>(m0 + r) * N + n0, width);
      }
      float tile[MR * NR];
      for (int q = 0; q < panelCount; q++) {
        const float* panel = onePanel ? dy + static_cast<std::size_t>(m0) * N
                                      : sc.dyPanels.data() + static_cast<std::size_t>(q) * rowsPerTask * NR;
        for (int k0 = 0; k0 < Kp; k0 += R) {
          if (R == MR) microKernel<MR>(cols + k0, 1, Kp, panel, count, tile);
          else microKernel<MRD>(cols + k0, 1, Kp, panel, count, tile);
          for (int i = 0; i < R; i++) {
            v8u* acc = reinterpret_cast<v8u*>(partial + static_cast<std::size_t>(k0 + i) * Np + q * NR);
            acc[0] += load(tile + i * NR);
            acc[1] += load(tile + i * NR + 8);
          }
        }
      }
    }
  });
  parallelFor(K, workers, [&](int k, int) {
    for (int n = 0; n < N; n++) {
      const std::size_t at = narrow ? static_cast<std::size_t>(n) * Kp + k : static_cast<std::size_t>(k) * Np + n;
      float sum = 0.0f;
      for (int g = 0; g < groups; g++) sum += partials[g * partialSize + at];
      dw[static_cast<std::size_t>(k) * N + n] = sum;
    }
  });
  if (db) sumGroups(biasPartials.data(), groups, N, db);
}

}  // namespace

void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias, bool biasPerImage, bool relu,
            const Addend& add, float* y) {
  const Epilogue e(s, bias, biasPerImage, relu, add);
  if (s.outC <= kNarrow) return conv2dNarrow(s, x, w, e, y);
  if (s.kH == 3 && s.kW == 3 && s.strideH == 1 && s.strideW == 1 && s.inC % 8 == 0) {
    const int tile = conv3x3Tile(s, true);
    if (tile == 4) return conv2dWinograd<4>(s, x, w, e, y);
    if (tile == 2) return conv2dWinograd<2>(s, x, w, e, y);
  }
  conv2dDirect(s, x, w, e, y);
}

void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias, bool relu, float* y) {
  conv2d(s, x, w, bias, false, relu, Addend{}, y);
}

void conv2dBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dw, float* db) {
  if (s.kH == 3 && s.kW == 3 && s.strideH == 1 && s.strideW == 1 && s.inC % 8 == 0 && s.outC % 8 == 0)
    return conv3x3Tile(s, false) == 4 ? conv2dBackpropFilterWinograd<4>(s, x, dy, dw, db)
                                      : conv2dBackpropFilterWinograd<2>(s, x, dy, dw, db);
  if (s.inC <= 4 && s.kH * s.kW * s.inC <= kShallowK && s.outC > kNarrow) return conv2dBackpropFilterShallow(s, x, dy, dw, db);
  conv2dBackpropFilterIm2col(s, x, dy, dw, db);
}

void conv2dBackpropInput(const ConvShape& s, const float* dy, const float* w, float* dx, const Addend& add) {
  if (s.strideH == 1 && s.strideW == 1) {
    // dx is then itself a convolution, of dy with the filter turned 180° and its channel axes swapped,
    // padded by kH − 1 − padTop on top: the forward kernel, without col2im's scattered additions.
    // Every value written, on every core (serial, with the zeroing a vector does, it was a tenth of a small
    // layer's input gradient).
    const std::unique_ptr<float[]> turned(new float[static_cast<std::size_t>(s.kH) * s.kW * s.inC * s.outC]);
    parallelFor(s.kH * s.kW, threadCount.load(), [&](int tap, int) {
      const int kh = tap / s.kW, kw = tap % s.kW;
      const float* from = w + (static_cast<std::size_t>(s.kH - 1 - kh) * s.kW + (s.kW - 1 - kw)) * s.inC * s.outC;
      float* to = turned.get() + static_cast<std::size_t>(tap) * s.outC * s.inC;
      for (int co = 0; co < s.outC; co++)
        for (int ci = 0; ci < s.inC; ci++) to[static_cast<std::size_t>(co) * s.inC + ci] = from[static_cast<std::size_t>(ci) * s.outC + co];
    });
    const ConvShape t{s.batch, s.outH, s.outW, s.outC, s.inH, s.inW, s.inC,
                      s.kH,    s.kW,   1,      1,      s.kH - 1 - s.padTop, s.kW - 1 - s.padLeft};
    conv2d(t, dy, turned.get(), nullptr, false, false, add, dx);
    return;
  }
  const int K = s.kH * s.kW * s.inC, N = s.outC, pixels = s.outH * s.outW;
  const int Kp = roundUp(K, NR), panelCount = Kp / NR;
  const std::vector<float> panels = packPanels(transposed(w, K, N).data(), N, K);  // Wᵀ: N × K
  const ConvShape xGrid{s.batch, s.inH, s.inW, s.inC, s.inH, s.inW, s.inC, 1, 1, 1, 1, 0, 0};  // dx's pixels
  const Epilogue e(xGrid, nullptr, false, false, add);
  const std::size_t imageSize = static_cast<std::size_t>(s.inH) * s.inW * s.inC;
  std::vector<std::vector<float>> scratch(threadCount.load(), std::vector<float>(MR * N + MR * Kp));
  // One task per image: the windows of neighbouring output pixels overlap, those of two images never do.
  parallelFor(s.batch, threadCount.load(), [&](int b, int worker) {
    float* rows = scratch[worker].data();
    float* dcol = rows + MR * N;
    if (add.residual) {
      std::copy(add.residual + b * imageSize, add.residual + (b + 1) * imageSize, dx + b * imageSize);
    } else if (add.source) {
      for (int p = 0; p < s.inH * s.inW; p++)
        for (int n0 = 0; n0 < s.inC; n0 += NR) {
          float row[NR];
          const std::size_t pixel = static_cast<std::size_t>(b) * s.inH * s.inW + p;
          e.addends(pixel, 1, n0, std::min(NR, s.inC - n0), row);
          copy(dx + pixel * s.inC + n0, row, std::min(NR, s.inC - n0));
        }
    } else {
      std::fill(dx + b * imageSize, dx + (b + 1) * imageSize, 0.0f);
    }
    for (int p0 = 0; p0 < pixels; p0 += MR) {
      const int m0 = b * pixels + p0, count = std::min(MR, pixels - p0);
      copy(rows, dy + static_cast<std::size_t>(m0) * N, count * N);
      std::fill(rows + count * N, rows + MR * N, 0.0f);
      for (int q = 0; q < panelCount; q++) {
        float tile[MR * NR];
        microKernel(rows, N, 1, panels.data() + static_cast<std::size_t>(q) * N * NR, N, tile);
        for (int i = 0; i < MR; i++) copy(dcol + i * Kp + q * NR, tile + i * NR, NR);
      }
      for (int i = 0; i < count; i++) col2imRow(s, dcol + i * Kp, m0 + i, dx);
    }
  });
}

const char* compiledIsa() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2";
#else
  return "generic";
#endif
}

void setThreads(int n) { threadCount = std::max(1, n); }
int threads() { return threadCount.load(); }

}  // namespace crackdiff

