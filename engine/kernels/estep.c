/* The E-step pass of many rows in C: log-densities, log-sum-exp, responsibilities
 * and the M-step's statistics about each component's mean, in one sweep over the
 * rows (engine.kernels.native_estep loads it with ctypes, which releases the GIL,
 * so two Python threads each run a range of rows).
 *
 * Rows are taken in blocks of BLOCK, transposed so that every step below is a
 * loop over the block's rows on contiguous memory, which gcc vectorises (-O3;
 * sums in 16 fixed lanes, so no -ffast-math is needed and every operation rounds
 * as IEEE says).  The exp is our own (Cody-Waite
 * reduction and a degree-13 Taylor polynomial, within ~1 ulp): libm's exp is a
 * scalar call per value, and the exp of every row-component is the pass's floor.
 * The per-row log of the normaliser is taken once per block on products of 8
 * lanes (each normaliser lies in [1, K], so a lane's product of BLOCK / 8 of them
 * stays far from overflow).
 *
 * Layouts (kind): 0 full, chol (K, d, d) upper triangular, P = U U^T;
 * 1 tied, chol (d, d); 2 diag, chol (K, d); 3 spherical, chol (K,).
 * The log-density of component k at x is
 *     const_k - |y|^2 / 2,   y_j = sum_{l <= j} (x_l - mu_kl) U_lj.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 256
#define LANES 8
#define EXP_FLOOR (-708.0)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

/* exp(x) for x in [-708, 0] (NaN stays NaN), vectorisable: x = n ln2 + r with
 * |r| <= ln2 / 2, exp(r) by Taylor to r^13 (error below 4e-18), times 2^n built
 * in the exponent bits (n >= -1022: always a normal number). */
static inline double exp_nonpositive(double x)
{
    const double log2e = 1.4426950408889634074;
    const double ln2_hi = 6.93147180369123816490e-01; /* low 32 bits zero: n ln2_hi exact */
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;         /* 1.5 * 2^52: rounds to an integer */
    double t = x * log2e + shifter;
    double n = t - shifter;
    int64_t bits;
    memcpy(&bits, &t, sizeof bits);
    int64_t k = bits - (int64_t)0x4338000000000000LL; /* the integer n */
    double r = (x - n * ln2_hi) - n * ln2_lo;
    double p = 1.0 / 6227020800.0;
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
    int64_t scale_bits = (k + 1023) << 52;
    double scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

/* Weighted log-densities of the block's rows under component k into Lk (w,). */
static inline void log_density(int kind, int64_t d, int64_t w, const double *xt,
                               const double *mu, const double *chol, double constant,
                               double *z, double *Lk)
{
    double q[BLOCK];
    for (int64_t i = 0; i < w; i++)
        q[i] = 0.0;
    for (int64_t l = 0; l < d; l++) {
        const double *x = xt + l * BLOCK;
        double *zl = z + l * BLOCK;
        const double m = mu[l];
        for (int64_t i = 0; i < w; i++)
            zl[i] = x[i] - m;
    }
    if (kind <= 1) {
        for (int64_t j = 0; j < d; j++) {
            double y[BLOCK];
            const double u0 = chol[j];
            for (int64_t i = 0; i < w; i++)
                y[i] = z[i] * u0;
            for (int64_t l = 1; l <= j; l++) {
                const double u = chol[l * d + j];
                const double *zl = z + l * BLOCK;
                for (int64_t i = 0; i < w; i++)
                    y[i] += zl[i] * u;
            }
            for (int64_t i = 0; i < w; i++)
                q[i] += y[i] * y[i];
        }
    } else {
        for (int64_t l = 0; l < d; l++) {
            const double u = kind == 2 ? chol[l] : chol[0];
            const double *zl = z + l * BLOCK;
            for (int64_t i = 0; i < w; i++) {
                double y = zl[i] * u;
                q[i] += y * y;
            }
        }
    }
    for (int64_t i = 0; i < w; i++)
        Lk[i] = constant - 0.5 * q[i];
}

/* Sum over the block's rows of a (w,), or of a * b.  SUM_LANES partial sums: one
 * running sum is a chain of dependent adds (the add's latency per 4 values), and
 * the lanes are added in a fixed order, so the result does not depend on the clone. */
#define SUM_LANES 16

static inline double lanes_total(const double *lane)
{
    double s = 0.0;
    for (int t = 0; t < SUM_LANES; t++)
        s += lane[t];
    return s;
}

static inline double block_sum(const double *restrict a, int64_t w)
{
    double lane[SUM_LANES] = {0.0};
    int64_t i = 0;
    for (; i + SUM_LANES <= w; i += SUM_LANES)
        for (int t = 0; t < SUM_LANES; t++)
            lane[t] += a[i + t];
    for (; i < w; i++)
        lane[0] += a[i];
    return lanes_total(lane);
}

static inline double block_dot(const double *restrict a, const double *restrict b, int64_t w)
{
    double lane[SUM_LANES] = {0.0};
    int64_t i = 0;
    for (; i + SUM_LANES <= w; i += SUM_LANES)
        for (int t = 0; t < SUM_LANES; t++)
            lane[t] += a[i + t] * b[i + t];
    for (; i < w; i++)
        lane[0] += a[i] * b[i];
    return lanes_total(lane);
}

/* One pass over rows [start, stop) of X (n, d), C order.
 *
 * means (K, d); chol in the layout of `kind`; constant (K,) = log w_k + log det U_k
 * - d/2 log 2 pi.  Out: resp_sum (K,), first (K, d) = sum r (x - mu_k), second
 * (K, d, d) for full/tied (both triangles), (K, d) otherwise = sum r (x - mu_k)^2;
 * totals[0] = sum of log-likelihoods, totals[1] = sum of log r of each row's most
 * likely component.  display (n_display,) sorted row indices inside [start, stop):
 * labels (int16) and confidence (float32) of those rows.
 * Returns 0, or -1 when out of memory. */
CLONES
int gmm_estep_pass(const double *X, int64_t start, int64_t stop, int64_t d, int64_t K, int kind,
                   const double *means, const double *chol, const double *constant,
                   double *resp_sum, double *first, double *second, double *totals,
                   const int64_t *display, int64_t n_display, int16_t *labels,
                   float *confidence)
{
    const int quadratic = kind <= 1;
    const int64_t chol_stride = kind == 0 ? d * d : kind == 2 ? d : kind == 3 ? 1 : 0;
    const int64_t n_second = quadratic ? d * d : d;
    /* xt, z, wz: d x BLOCK each; L: K x BLOCK */
    double *buffer = malloc(sizeof(double) * (size_t)((3 * d + K) * BLOCK));
    if (buffer == NULL)
        return -1;
    double *xt = buffer;
    double *z = xt + d * BLOCK;
    double *wz = z + d * BLOCK;
    double *L = wz + d * BLOCK;
    double mx[BLOCK], inv[BLOCK];
    double total = 0.0, log_norm_sum = 0.0;
    int64_t next_display = 0;

    memset(resp_sum, 0, sizeof(double) * (size_t)K);
    memset(first, 0, sizeof(double) * (size_t)(K * d));
    memset(second, 0, sizeof(double) * (size_t)(K * n_second));

    for (int64_t a = start; a < stop; a += BLOCK) {
        const int64_t w = stop - a < BLOCK ? stop - a : BLOCK;
        const double *xa = X + a * d;
        for (int64_t i = 0; i < w; i++)
            for (int64_t l = 0; l < d; l++)
                xt[l * BLOCK + i] = xa[i * d + l];

        for (int64_t k = 0; k < K; k++)
            log_density(kind, d, w, xt, means + k * d, chol + k * chol_stride, constant[k], z,
                        L + k * BLOCK);

        for (int64_t i = 0; i < w; i++)
            mx[i] = L[i];
        for (int64_t k = 1; k < K; k++) {
            const double *Lk = L + k * BLOCK;
            for (int64_t i = 0; i < w; i++)
                mx[i] = Lk[i] > mx[i] ? Lk[i] : mx[i];
        }
        double s[BLOCK];
        for (int64_t i = 0; i < w; i++)
            s[i] = 0.0;
        for (int64_t k = 0; k < K; k++) {
            double *Lk = L + k * BLOCK;
            for (int64_t i = 0; i < w; i++) {
                /* below -708 exp underflows; a responsibility of 3e-308 changes no sum.
                 * The comparison keeps a NaN a NaN, as numpy's path does. */
                double v = Lk[i] - mx[i];
                v = exp_nonpositive(v < EXP_FLOOR ? EXP_FLOOR : v);
                Lk[i] = v;
                s[i] += v;
            }
        }
        /* sum log s: products of w / LANES normalisers per lane, each in [1, K]. */
        double lane[LANES];
        for (int t = 0; t < LANES; t++)
            lane[t] = 1.0;
        int64_t i = 0;
        for (; i + LANES <= w; i += LANES)
            for (int t = 0; t < LANES; t++)
                lane[t] *= s[i + t];
        for (; i < w; i++)
            lane[0] *= s[i];
        double block_log = 0.0;
        for (int t = 0; t < LANES; t++)
            block_log += log(lane[t]);
        total += block_sum(mx, w) + block_log;
        log_norm_sum += block_log;
        for (i = 0; i < w; i++)
            inv[i] = 1.0 / s[i];

        for (; next_display < n_display && display[next_display] < a + w; next_display++) {
            const int64_t row = display[next_display] - a;
            int64_t best = 0;
            for (int64_t k = 1; k < K; k++)
                if (L[k * BLOCK + row] > L[best * BLOCK + row])
                    best = k;
            labels[next_display] = (int16_t)best;
            confidence[next_display] = (float)(L[best * BLOCK + row] * inv[row]);
        }

        for (int64_t k = 0; k < K; k++) {
            double *r = L + k * BLOCK;
            const double *mu = means + k * d;
            for (i = 0; i < w; i++)
                r[i] *= inv[i];
            resp_sum[k] += block_sum(r, w);
            for (int64_t l = 0; l < d; l++) {
                const double *x = xt + l * BLOCK;
                double *zl = z + l * BLOCK;
                double *wl = wz + l * BLOCK;
                const double m = mu[l];
                for (i = 0; i < w; i++) {
                    zl[i] = x[i] - m;
                    wl[i] = r[i] * zl[i];
                }
                first[k * d + l] += block_sum(wl, w);
            }
            double *sk = second + k * n_second;
            for (int64_t l = 0; l < d; l++) {
                const double *wl = wz + l * BLOCK;
                if (quadratic) {
                    for (int64_t j = l; j < d; j++)
                        sk[l * d + j] += block_dot(wl, z + j * BLOCK, w);
                } else {
                    sk[l] += block_dot(wl, z + l * BLOCK, w);
                }
            }
        }
    }
    if (quadratic)
        for (int64_t k = 0; k < K; k++)
            for (int64_t l = 0; l < d; l++)
                for (int64_t j = 0; j < l; j++)
                    second[k * n_second + l * d + j] = second[k * n_second + j * d + l];
    totals[0] = total;
    totals[1] = -log_norm_sum;
    free(buffer);
    return 0;
}

/* exp of n values in [-708, 0] (for the tests of the exp itself). */
CLONES
void gmm_exp_nonpositive(const double *restrict x, double *restrict out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        out[i] = exp_nonpositive(v < EXP_FLOOR ? EXP_FLOOR : v);
    }
}
