/* The E-step pass of many rows in C: log-densities, log-sum-exp, responsibilities
 * and the M-step's statistics about each component's mean, in one sweep over the
 * rows (engine.kernels.native_estep loads it with ctypes, which releases the GIL,
 * so two Python threads each run a range of rows).
 *
 * Rows are taken in blocks of BLOCK, transposed, and processed four at a time
 * in GCC's vector types (AVX2 registers in the x86-64-v3 clone, pairs of SSE2
 * registers otherwise); the number of features D is a compile-time constant of
 * each specialised copy (D = 1 .. MAX_D), so a row's centred values, whitened
 * values and the statistics' running sums stay in registers.  No -ffast-math:
 * every operation rounds as IEEE says, the sums run in fixed lanes added in a
 * fixed order.  The exp is our own (Cody-Waite reduction and a degree-13 Taylor
 * polynomial, within 1 ulp of the correctly rounded value): libm's is a scalar
 * call per value, and the exp of every row-component is the pass's floor.  The
 * log of each row's normaliser is taken once per block on products of 8 lanes
 * (each normaliser lies in [1, K], so a lane's product of BLOCK / 8 of them stays
 * far from overflow).
 *
 * Layouts (kind): 0 full, chol (K, D, D) upper triangular, P = U U^T;
 * 1 tied, chol (D, D); 2 diag, chol (K, D); 3 spherical, chol (K,).
 * The log-density of component k at x is
 *     const_k - |y|^2 / 2,   y_j = sum_{l <= j} (x_l - mu_kl) U_lj.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 256
#define NV (BLOCK / 4)
#define LANES 8
#define MAX_D 10
#define EXP_FLOOR (-708.0)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

typedef double v4 __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));

INLINE v4 splat(double x)
{
    return (v4){x, x, x, x};
}

/* where mask is set, a; elsewhere b */
INLINE v4 select4(v4i mask, v4 a, v4 b)
{
    return (v4)(((v4i)a & mask) | ((v4i)b & ~mask));
}

/* exp(x) for x in [-708, 0] (lower values are taken as -708; a NaN stays a NaN):
 * x = n ln2 + r with |r| <= ln2 / 2, exp(r) by Taylor to r^13 (truncation below
 * 4e-18), times 2^n built in the exponent bits (n >= -1022: a normal number). */
INLINE v4 exp4(v4 x)
{
    const double ln2_hi = 6.93147180369123816490e-01; /* low 32 bits zero: n ln2_hi exact */
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;         /* 1.5 * 2^52: rounds to an integer */
    x = select4(x < splat(EXP_FLOOR), splat(EXP_FLOOR), x);
    v4 t = x * 1.4426950408889634074 + shifter;
    v4 n = t - shifter;
    v4i k = (v4i)t - (int64_t)0x4338000000000000LL;
    v4 r = (x - n * ln2_hi) - n * ln2_lo;
    v4 p = splat(1.0 / 6227020800.0);
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return p * (v4)((k + 1023) << 52);
}

INLINE double lanes_sum(v4 a)
{
    return (a[0] + a[1]) + (a[2] + a[3]);
}

/* One pass over rows [start, stop) of X (n, D), C order; D and quadratic (full or
 * tied: kind <= 1) are constants.
 * See gmm_estep_pass for the arguments. */
INLINE int pass_d(const int D, const int quadratic, const double *X, int64_t start, int64_t stop, int64_t K,
                  int kind, const double *means, const double *chol, const double *constant,
                  double *resp_sum, double *first, double *second, double *totals,
                  const int64_t *display, int64_t n_display, int16_t *labels,
                  float *confidence)
{
    const int64_t chol_stride = kind == 0 ? D * D : kind == 2 ? D : kind == 3 ? 1 : 0;
    /* statistics per component: N, then S1 (D), then S2 (upper triangle or diagonal) */
    const int P = quadratic ? 1 + D + D * (D + 1) / 2 : 1 + 2 * D;
    void *memory = NULL;
    if (posix_memalign(&memory, 64, sizeof(v4) * (size_t)((D + K) * NV + K * P)) != 0)
        return -1;
    v4 *xt = memory;          /* (D, NV) */
    v4 *L = xt + D * NV;      /* (K, NV) */
    v4 *acc = L + K * NV;     /* (K, P) */
    v4 mx[NV], s[NV], inv[NV];
    double total = 0.0, log_norm_sum = 0.0;
    int64_t next_display = 0;
    memset(acc, 0, sizeof(v4) * (size_t)(K * P));

    for (int64_t a = start; a < stop; a += BLOCK) {
        const int64_t w = stop - a < BLOCK ? stop - a : BLOCK;
        const int64_t nv = (w + 3) / 4;
        const double *xa = X + a * D;
        double *xs = (double *)xt;
        for (int64_t i = 0; i < w; i++)
            #pragma GCC unroll 64
            for (int l = 0; l < D; l++)
                xs[l * BLOCK + i] = xa[i * D + l];
        for (int64_t i = w; i < 4 * nv; i++) /* padding: finite, its weight set to 0 below */
            #pragma GCC unroll 64
            for (int l = 0; l < D; l++)
                xs[l * BLOCK + i] = 0.0;

        for (int64_t k = 0; k < K; k++) {
            const double *mu = means + k * D;
            const double *u = chol + k * chol_stride;
            const double c = constant[k];
            v4 *Lk = L + k * NV;
            for (int64_t v = 0; v < nv; v++) {
                v4 z[MAX_D];
                #pragma GCC unroll 64
                for (int l = 0; l < D; l++)
                    z[l] = xt[l * NV + v] - mu[l];
                v4 q = splat(0.0);
                if (quadratic) {
                    #pragma GCC unroll 64
                    for (int j = 0; j < D; j++) {
                        v4 y = z[0] * u[j];
                        #pragma GCC unroll 64
                        for (int l = 1; l <= j; l++)
                            y += z[l] * u[l * D + j];
                        q += y * y;
                    }
                } else {
                    #pragma GCC unroll 64
                    for (int l = 0; l < D; l++) {
                        v4 y = z[l] * u[kind == 2 ? l : 0];
                        q += y * y;
                    }
                }
                Lk[v] = c - 0.5 * q;
            }
        }

        for (int64_t v = 0; v < nv; v++) {
            v4 m = L[v];
            for (int64_t k = 1; k < K; k++)
                m = select4(L[k * NV + v] > m, L[k * NV + v], m);
            v4 sum = splat(0.0);
            for (int64_t k = 0; k < K; k++) {
                /* below -708 exp underflows; a responsibility of 3e-308 changes no sum */
                v4 e = exp4(L[k * NV + v] - m);
                L[k * NV + v] = e;
                sum += e;
            }
            mx[v] = m;
            s[v] = sum;
            inv[v] = 1.0 / sum;
        }
        const double *mxs = (const double *)mx, *ss = (const double *)s;
        double *invs = (double *)inv;
        for (int64_t i = w; i < 4 * nv; i++)
            invs[i] = 0.0;
        /* sum log s: products of w / LANES normalisers per lane, each in [1, K] */
        double lane[LANES], mx_lane[LANES];
        for (int t = 0; t < LANES; t++)
            lane[t] = 1.0, mx_lane[t] = 0.0;
        int64_t i = 0;
        for (; i + LANES <= w; i += LANES)
            for (int t = 0; t < LANES; t++) {
                lane[t] *= ss[i + t];
                mx_lane[t] += mxs[i + t];
            }
        for (; i < w; i++) {
            lane[0] *= ss[i];
            mx_lane[0] += mxs[i];
        }
        double block_log = 0.0, block_mx = 0.0;
        for (int t = 0; t < LANES; t++) {
            block_log += log(lane[t]);
            block_mx += mx_lane[t];
        }
        total += block_mx + block_log;
        log_norm_sum += block_log;

        const double *Ls = (const double *)L;
        for (; next_display < n_display && display[next_display] < a + w; next_display++) {
            const int64_t row = display[next_display] - a;
            int64_t best = 0;
            for (int64_t k = 1; k < K; k++)
                if (Ls[k * BLOCK + row] > Ls[best * BLOCK + row])
                    best = k;
            labels[next_display] = (int16_t)best;
            confidence[next_display] = (float)(Ls[best * BLOCK + row] * invs[row]);
        }

        for (int64_t k = 0; k < K; k++) {
            const double *mu = means + k * D;
            const v4 *Lk = L + k * NV;
            v4 sums[1 + MAX_D + MAX_D * (MAX_D + 1) / 2];
            #pragma GCC unroll 64
            for (int p = 0; p < P; p++)
                sums[p] = acc[k * P + p];
            for (int64_t v = 0; v < nv; v++) {
                v4 r = Lk[v] * inv[v];
                v4 z[MAX_D];
                #pragma GCC unroll 64
                for (int l = 0; l < D; l++)
                    z[l] = xt[l * NV + v] - mu[l];
                sums[0] += r;
                int p = 1 + D;
                #pragma GCC unroll 64
                for (int l = 0; l < D; l++) {
                    v4 rz = r * z[l];
                    sums[1 + l] += rz;
                    if (quadratic) {
                        #pragma GCC unroll 64
                        for (int j = l; j < D; j++)
                            sums[p++] += rz * z[j];
                    } else {
                        sums[1 + D + l] += rz * z[l];
                    }
                }
            }
            #pragma GCC unroll 64
            for (int p = 0; p < P; p++)
                acc[k * P + p] = sums[p];
        }
    }

    const int64_t n_second = quadratic ? D * D : D;
    for (int64_t k = 0; k < K; k++) {
        const v4 *sums = acc + k * P;
        double *sk = second + k * n_second;
        resp_sum[k] = lanes_sum(sums[0]);
        int p = 1 + D;
        #pragma GCC unroll 64
        for (int l = 0; l < D; l++) {
            first[k * D + l] = lanes_sum(sums[1 + l]);
            if (quadratic) {
                #pragma GCC unroll 64
                for (int j = l; j < D; j++)
                    sk[l * D + j] = sk[j * D + l] = lanes_sum(sums[p++]);
            } else {
                sk[l] = lanes_sum(sums[1 + D + l]);
            }
        }
    }
    totals[0] = total;
    totals[1] = -log_norm_sum;
    free(memory);
    return 0;
}

/* One pass over rows [start, stop) of X (n, d), C order, 1 <= d <= MAX_D.
 *
 * means (K, d); chol in the layout of `kind`; constant (K,) = log w_k + log det U_k
 * - d/2 log 2 pi.  Out: resp_sum (K,), first (K, d) = sum r (x - mu_k), second
 * (K, d, d) for full/tied (both triangles), (K, d) otherwise = sum r (x - mu_k)^2;
 * totals[0] = sum of log-likelihoods, totals[1] = sum of log r of each row's most
 * likely component.  display (n_display,) sorted row indices inside [start, stop):
 * labels (int16) and confidence (float32) of those rows.
 * Returns 0, -1 when out of memory, -2 for a d it was not built for. */
CLONES
int gmm_estep_pass(const double *X, int64_t start, int64_t stop, int64_t d, int64_t K, int kind,
                   const double *means, const double *chol, const double *constant,
                   double *resp_sum, double *first, double *second, double *totals,
                   const int64_t *display, int64_t n_display, int16_t *labels,
                   float *confidence)
{
#define PASS(D)                                                                               \
    case D:                                                                                   \
        if (kind <= 1)                                                                        \
            return pass_d(D, 1, X, start, stop, K, kind, means, chol, constant, resp_sum,     \
                          first, second, totals, display, n_display, labels, confidence);     \
        return pass_d(D, 0, X, start, stop, K, kind, means, chol, constant, resp_sum, first,  \
                      second, totals, display, n_display, labels, confidence)
    switch (d) {
        PASS(1);
        PASS(2);
        PASS(3);
        PASS(4);
        PASS(5);
        PASS(6);
        PASS(7);
        PASS(8);
        PASS(9);
        PASS(10);
    default:
        return -2;
    }
#undef PASS
}

int gmm_estep_max_features(void)
{
    return MAX_D;
}

/* exp of n values in [-708, 0] (lower values are taken as -708), as the pass takes
 * them (for the tests of the exp itself). */
CLONES
void gmm_exp_nonpositive(const double *x, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 4) {
        v4 v = splat(0.0);
        for (int t = 0; t < 4 && i + t < n; t++)
            v[t] = x[i + t];
        v = exp4(v);
        for (int t = 0; t < 4 && i + t < n; t++)
            out[i + t] = v[t];
    }
}
