/*
 * EM on small data as one call in plain C: the model-selection fast path.
 *
 * The same algorithm as engine/kernels/compiled.py's em_loop (numba), step for
 * step: the E-step in log space with the same floor, the M-steps of mclust's
 * fourteen structures on full (K, d, d) matrices (VEI / VEE alternations, the
 * EVE / VVE majorisation-minimisation steps), the stopping rule with Aitken's
 * test, the 10 eps offset of the summed responsibilities.  Like the numba loop
 * it covers the common case only: a failed factorisation, a number that stops
 * being finite or an emptied component gives up (returns GMM_GAVE_UP), and the
 * caller reruns the candidate on the numpy path, which re-seeds components and
 * words singular fits.
 *
 * Why C and not numba: a process that loads numba's cached machine code pays
 * ~0.5 s before its first fit; this library loads in about a millisecond.
 *
 * No LAPACK and no Python in the arithmetic: Cholesky, the inverse of a
 * triangular matrix, a cyclic Jacobi eigensolver (eigenvalues ascending, as
 * LAPACK's eigh) and a one-sided Jacobi SVD for the polar factor are written
 * here, for any d.  Work arrays are allocated once per call and freed on every
 * exit.  Built without -ffast-math and without contraction into fused
 * multiply-adds (-ffp-contract=off, pyproject.toml): the answers must equal the
 * numpy path's to rounding.
 *
 * Arrays are C-ordered float64: X (n, d), weights (K,), means (K, d),
 * covariances (K, d, d).  Part of the shared library engine.kernels._native
 * (native_module.c), called through ctypes by engine/kernels/native.py; no
 * Python in here, so the file also builds alone (under valgrind, say).
 */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GMM_DONE 0
#define GMM_GAVE_UP 1

/* Structure codes, the order of engine.kernels.native.CODES. */
enum {
    EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV
};

static const double EMPTY_COMPONENT_MASS = 1e-3; /* engine.em.steps.EMPTY_COMPONENT_MASS */
static const double EXP_FLOOR = -708.0;           /* engine.kernels.direct */
static const double INNER_TOL = 1e-8;             /* engine.model.msteps.DEFAULT_TOL */
static const int INNER_MAX_ITER = 100;
static const int JACOBI_MAX_SWEEPS = 100;
/* A singular value of the polar step's F below this fraction of |F| (Frobenius)
 * is taken as nought (its column of U is then completed, see polar_factor). */
static const double POLAR_NULL = 1e-8;
#define LOG_2PI 1.8378770664093453 /* log(2 pi), as numpy's float64 */

/* ------------------------------------------------------------------ work arrays */

typedef struct {
    int64_t d, K;
    /* E-step: about the current means */
    double *resp_sum; /* (K,) */
    double *first;    /* (K, d) */
    double *second;   /* (K, d, d) */
    double *inverse;  /* (K, d, d) inv(L_k), L_k L_k^T = Sigma_k */
    double *log_det;  /* (K,) */
    double *constant; /* (K,) */
    double *log_prob; /* (K,) */
    double *diff;     /* (K, d) */
    double *upper;    /* (K, d, d) inv(L_k)^T: the precision's upper Cholesky factor */
    /* M-step */
    double *safe;     /* (K,) */
    double *scatter;  /* (K, d, d) */
    double *out;      /* (K, d, d) the new covariances */
    double *w;        /* (K, d, d) regularised scatter */
    double *vectors;  /* (K, d, d) eigenvectors as columns */
    double *kd[5];    /* (K, d) each */
    double *k1[2];    /* (K,) each */
    double *dv[5];    /* (d,) each */
    double *mat[8];   /* (d, d) each */
    double *block;
} Work;

static void work_free(Work *work) { free(work->block); }

static int work_alloc(Work *work, int64_t d, int64_t K) {
    size_t dd = (size_t)d * (size_t)d, Kd = (size_t)K * (size_t)d, Kdd = Kd * (size_t)d;
    size_t total = 0;
    double *p;
    int i;
    total += 5 * (size_t)K + 2 * Kd + 4 * Kdd; /* E-step */
    total += (size_t)K + 4 * Kdd;              /* safe, scatter, out, w, vectors */
    total += 5 * Kd + 2 * (size_t)K + 5 * (size_t)d + 8 * dd;
    work->d = d;
    work->K = K;
    work->block = (double *)calloc(total > 0 ? total : 1, sizeof(double));
    if (work->block == NULL)
        return 1;
    p = work->block;
#define TAKE(field, size) (field = p, p += (size))
    TAKE(work->resp_sum, (size_t)K);
    TAKE(work->first, Kd);
    TAKE(work->second, Kdd);
    TAKE(work->inverse, Kdd);
    TAKE(work->log_det, (size_t)K);
    TAKE(work->constant, (size_t)K);
    TAKE(work->log_prob, (size_t)K);
    TAKE(work->diff, Kd);
    TAKE(work->upper, Kdd);
    TAKE(work->safe, (size_t)K);
    TAKE(work->scatter, Kdd);
    TAKE(work->out, Kdd);
    TAKE(work->w, Kdd);
    TAKE(work->vectors, Kdd);
    for (i = 0; i < 5; i++)
        TAKE(work->kd[i], Kd);
    for (i = 0; i < 2; i++)
        TAKE(work->k1[i], (size_t)K);
    for (i = 0; i < 5; i++)
        TAKE(work->dv[i], (size_t)d);
    for (i = 0; i < 8; i++)
        TAKE(work->mat[i], dd);
#undef TAKE
    return 0;
}

/* ------------------------------------------------------------------ small linear algebra */

/* A = L L^T from A's lower triangle; L (d, d) lower, zeros above.  1 when A is
 * not positive definite (or not finite): the caller gives up, as numpy's
 * LinAlgError made the numba loop do. */
static int cholesky(const double *A, double *L, int64_t d) {
    int64_t i, j, m;
    for (i = 0; i < d * d; i++)
        L[i] = 0.0;
    for (j = 0; j < d; j++) {
        double s = A[j * d + j];
        for (m = 0; m < j; m++)
            s -= L[j * d + m] * L[j * d + m];
        if (!(s > 0.0) || !isfinite(s))
            return 1;
        L[j * d + j] = sqrt(s);
        for (i = j + 1; i < d; i++) {
            double v = A[i * d + j];
            for (m = 0; m < j; m++)
                v -= L[i * d + m] * L[j * d + m];
            L[i * d + j] = v / L[j * d + j];
        }
    }
    return 0;
}

/* inv(L) of a lower triangular L by forward substitution: (d, d), lower. */
static void lower_inverse(const double *L, double *inverse, int64_t d) {
    int64_t row, col, m;
    for (col = 0; col < d; col++) {
        for (row = 0; row < d; row++) {
            double value = row == col ? 1.0 : 0.0;
            for (m = 0; m < row; m++)
                value -= L[row * d + m] * inverse[m * d + col];
            inverse[row * d + col] = value / L[row * d + row];
        }
    }
}

/* log det A of a symmetric positive definite A (d, d); scratch (d, d). */
static int log_det_spd(const double *A, double *scratch, int64_t d, double *log_det) {
    int64_t j;
    double total = 0.0;
    if (cholesky(A, scratch, d))
        return 1;
    for (j = 0; j < d; j++)
        total += log(scratch[j * d + j]);
    *log_det = 2.0 * total;
    return 0;
}

/* inv(A) of a symmetric positive definite A (d, d) as inv(L)^T inv(L);
 * two (d, d) scratch matrices. */
static int spd_inverse(const double *A, double *out, double *L, double *L_inv, int64_t d) {
    int64_t a, b, m;
    if (cholesky(A, L, d))
        return 1;
    lower_inverse(L, L_inv, d);
    for (a = 0; a < d; a++) {
        for (b = 0; b < d; b++) {
            double v = 0.0;
            for (m = a > b ? a : b; m < d; m++)
                v += L_inv[m * d + a] * L_inv[m * d + b];
            out[a * d + b] = v;
        }
    }
    return 0;
}

static void symmetrise(double *A, int64_t d) {
    int64_t a, b;
    for (a = 0; a < d; a++) {
        for (b = 0; b < a; b++) {
            double v = 0.5 * (A[a * d + b] + A[b * d + a]);
            A[a * d + b] = v;
            A[b * d + a] = v;
        }
    }
}

/* The eigenvalues (ascending) and eigenvectors (as columns, unit length) of a
 * symmetric A (d, d), by cyclic Jacobi rotations; A is not changed.  values
 * (d,), vectors (d, d), scratch (d, d).  1 when it does not converge. */
static int symmetric_eigen(const double *A, double *values, double *vectors, double *scratch,
                           int64_t d) {
    int64_t p, q, r, i, j;
    int sweep;
    double *a = scratch, negligible = 0.0;
    memcpy(a, A, (size_t)(d * d) * sizeof(double));
    for (i = 0; i < d * d; i++)
        negligible += a[i] * a[i];
    /* Below eps^2 of the matrix's size an off-diagonal entry moves no
     * eigenvalue by more than rounding: it ends the rotations even where a
     * diagonal is nought. */
    negligible = DBL_EPSILON * DBL_EPSILON * sqrt(negligible);
    for (i = 0; i < d * d; i++)
        vectors[i] = 0.0;
    for (i = 0; i < d; i++)
        vectors[i * d + i] = 1.0;
    for (sweep = 0;; sweep++) {
        int rotated = 0;
        for (p = 0; p < d; p++) {
            for (q = p + 1; q < d; q++) {
                double apq = a[p * d + q], app = a[p * d + p], aqq = a[q * d + q];
                double theta, t, c, s, tau;
                if (!isfinite(apq) || !isfinite(app) || !isfinite(aqq))
                    return 1;
                /* Negligible against the diagonals (relative, so that small
                 * eigenvalues keep their accuracy): the pair is done. */
                if (fabs(apq) <= 0.5 * DBL_EPSILON * sqrt(fabs(app) * fabs(aqq))
                    || fabs(apq) <= negligible) {
                    a[p * d + q] = a[q * d + p] = 0.0;
                    continue;
                }
                rotated = 1;
                theta = 0.5 * (aqq - app) / apq;
                if (fabs(theta) > 1e150)
                    t = 0.5 / theta;
                else
                    t = (theta >= 0.0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(1.0 + theta * theta));
                c = 1.0 / sqrt(1.0 + t * t);
                s = t * c;
                tau = s / (1.0 + c);
                a[p * d + p] = app - t * apq;
                a[q * d + q] = aqq + t * apq;
                a[p * d + q] = a[q * d + p] = 0.0;
                for (r = 0; r < d; r++) {
                    double arp, arq, vrp, vrq;
                    if (r != p && r != q) {
                        arp = a[r * d + p];
                        arq = a[r * d + q];
                        a[r * d + p] = a[p * d + r] = arp - s * (arq + tau * arp);
                        a[r * d + q] = a[q * d + r] = arq + s * (arp - tau * arq);
                    }
                    vrp = vectors[r * d + p];
                    vrq = vectors[r * d + q];
                    vectors[r * d + p] = vrp - s * (vrq + tau * vrp);
                    vectors[r * d + q] = vrq + s * (vrp - tau * vrq);
                }
            }
        }
        if (!rotated)
            break;
        if (sweep >= JACOBI_MAX_SWEEPS)
            return 1;
    }
    for (i = 0; i < d; i++)
        values[i] = a[i * d + i];
    /* Ascending, the vectors' columns following (insertion sort: d is small). */
    for (i = 1; i < d; i++) {
        for (j = i; j > 0 && values[j - 1] > values[j]; j--) {
            double v = values[j];
            values[j] = values[j - 1];
            values[j - 1] = v;
            for (r = 0; r < d; r++) {
                v = vectors[r * d + j];
                vectors[r * d + j] = vectors[r * d + j - 1];
                vectors[r * d + j - 1] = v;
            }
        }
    }
    return 0;
}

/* Column j of U (d, d) completed as the unit vector orthogonal to its other
 * columns (which are orthonormal), by Gram-Schmidt from the coordinate vector
 * that keeps the most of itself.  Its sign is that of `hint` (d,) along it. */
static void complete_column(double *U, int64_t j, const double *hint, double *candidate,
                            int64_t d) {
    int64_t e, p, i, best = 0;
    int pass;
    double best_norm = -1.0, norm = 0.0, along = 0.0;
    for (e = 0; e < d; e++) {
        /* what is left of e_e after the projection: 1 - sum_p U[e, p]^2 */
        double left = 1.0;
        for (p = 0; p < d; p++)
            if (p != j)
                left -= U[e * d + p] * U[e * d + p];
        if (left > best_norm) {
            best_norm = left;
            best = e;
        }
    }
    for (i = 0; i < d; i++)
        candidate[i] = i == best ? 1.0 : 0.0;
    for (pass = 0; pass < 2; pass++) { /* twice is enough (Kahan) */
        for (p = 0; p < d; p++) {
            double dot = 0.0;
            if (p == j)
                continue;
            for (i = 0; i < d; i++)
                dot += U[i * d + p] * candidate[i];
            for (i = 0; i < d; i++)
                candidate[i] -= dot * U[i * d + p];
        }
    }
    for (i = 0; i < d; i++) {
        norm += candidate[i] * candidate[i];
        along += candidate[i] * hint[i];
    }
    norm = sqrt(norm);
    if (along < 0.0)
        norm = -norm;
    for (i = 0; i < d; i++)
        U[i * d + j] = candidate[i] / norm;
}

/* The polar factor U V^T of F = U S V^T (d, d), by a one-sided Jacobi SVD:
 * rotations V from the right make the columns of G = F V orthogonal, then
 * U = G S^-1.  V (d, d) comes in as the rotation to start from (orthogonal:
 * the identity, or the last call's V for a nearby F, which leaves a sweep or
 * two to do) and goes out as F's right singular vectors.  A singular value that is nought (a column of F nought: every
 * component's largest 1 / b at the same axis, common in EVE / VVE's second
 * step) leaves one column of U to complete as the unit vector orthogonal to
 * the others, which is unique up to its sign, as in numpy's SVD; the final
 * covariances do not depend on that sign.  1 when two or more are nought (the
 * factor is not unique) or the rotations do not converge.  out (d, d); G
 * (d, d), s (d,) and column (d,) scratch. */
static int polar_factor(const double *F, double *out, double *G, double *V, double *s,
                        double *column, int64_t d) {
    int64_t p, q, i, j, null = -1;
    int sweep, n_null = 0;
    double null_level = 0.0;
    for (i = 0; i < d; i++) {
        for (j = 0; j < d; j++) {
            double v = 0.0;
            for (p = 0; p < d; p++)
                v += F[i * d + p] * V[p * d + j];
            G[i * d + j] = v;
            null_level += F[i * d + j] * F[i * d + j];
        }
    }
    /* A column whose squared norm is below this (a fraction of |F|^2, which the
     * rotations keep) is nought: it takes part in no rotation (rounding alone
     * could keep it from ever looking orthogonal) and is completed at the end. */
    null_level *= POLAR_NULL * POLAR_NULL;
    for (sweep = 0;; sweep++) {
        int rotated = 0;
        for (p = 0; p < d; p++) {
            for (q = p + 1; q < d; q++) {
                double alpha = 0.0, beta = 0.0, gamma = 0.0, zeta, t, c, sn;
                for (i = 0; i < d; i++) {
                    double gp = G[i * d + p], gq = G[i * d + q];
                    alpha += gp * gp;
                    beta += gq * gq;
                    gamma += gp * gq;
                }
                if (!isfinite(alpha) || !isfinite(beta) || !isfinite(gamma))
                    return 1;
                /* Orthogonal to rounding: a dot product of d terms is computed
                 * only to ~d eps of |g_p| |g_q| (asking for eps can cycle). */
                if (fabs(gamma) <= (double)d * DBL_EPSILON * sqrt(alpha * beta) || gamma == 0.0
                    || alpha <= null_level || beta <= null_level)
                    continue;
                rotated = 1;
                zeta = (beta - alpha) / (2.0 * gamma);
                if (fabs(zeta) > 1e150)
                    t = 0.5 / zeta;
                else
                    t = (zeta >= 0.0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                c = 1.0 / sqrt(1.0 + t * t);
                sn = c * t;
                for (i = 0; i < d; i++) {
                    double gp = G[i * d + p], gq = G[i * d + q];
                    double vp = V[i * d + p], vq = V[i * d + q];
                    G[i * d + p] = c * gp - sn * gq;
                    G[i * d + q] = sn * gp + c * gq;
                    V[i * d + p] = c * vp - sn * vq;
                    V[i * d + q] = sn * vp + c * vq;
                }
            }
        }
        if (!rotated)
            break;
        if (sweep >= JACOBI_MAX_SWEEPS)
            return 1;
    }
    for (j = 0; j < d; j++) {
        double norm = 0.0;
        for (i = 0; i < d; i++)
            norm += G[i * d + j] * G[i * d + j];
        if (norm > null_level) {
            s[j] = sqrt(norm);
            for (i = 0; i < d; i++)
                G[i * d + j] /= s[j];
        } else {
            null = j;
            n_null += 1;
        }
    }
    if (n_null > 1 || (n_null == 1 && d == 1))
        return 1;
    if (null >= 0) {
        for (i = 0; i < d; i++)
            column[i] = G[i * d + null];
        complete_column(G, null, column, s, d);
    }
    for (i = 0; i < d; i++) {
        for (j = 0; j < d; j++) {
            double v = 0.0;
            for (p = 0; p < d; p++)
                v += G[i * d + p] * V[j * d + p];
            out[i * d + j] = v;
        }
    }
    return 0;
}

static int all_finite(const double *a, int64_t size) {
    int64_t i;
    for (i = 0; i < size; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ E-step */

/* The scalar pass over the rows, for E-step below: X (n, d), for the d above
 * estep.c's (its vectorised pass serves the others).  1 when a distance is not
 * finite. */
static int pass_over_rows(Work *work, int64_t n, const double *X, const double *means,
                          const int64_t d, double *total_out, double *map_sum_out) {
    const int64_t K = work->K, dd = d * d;
    const double *inverse = work->inverse, *constant = work->constant;
    double *diff = work->diff, *log_prob = work->log_prob;
    double *resp_sum = work->resp_sum, *first = work->first, *second = work->second;
    const double floor_value = exp(EXP_FLOOR);
    double total = 0.0, map_sum = 0.0;
    int64_t i, j, k, row, m, a, b;
    for (i = 0; i < n; i++) {
        const double *x = X + i * d;
        double top = -INFINITY, norm = 0.0, log_norm;
        for (k = 0; k < K; k++) {
            const double *inv = inverse + k * dd;
            double *dk = diff + k * d;
            double distance = 0.0;
            for (j = 0; j < d; j++)
                dk[j] = x[j] - means[k * d + j];
            for (row = 0; row < d; row++) {
                double value = 0.0;
                for (m = 0; m <= row; m++)
                    value += inv[row * d + m] * dk[m];
                distance += value * value;
            }
            if (!isfinite(distance))
                return 1; /* numpy's path reports this as a singular fit */
            log_prob[k] = constant[k] - 0.5 * distance;
            if (log_prob[k] > top)
                top = log_prob[k];
        }
        for (k = 0; k < K; k++) {
            const double shifted = log_prob[k] - top;
            /* exp(max(shifted, floor)), max as Python's (a NaN stays NaN), without
             * calling exp where the answer is known: 1 for the top, and the
             * floor's value for every component beyond it. */
            if (shifted == 0.0)
                log_prob[k] = 1.0;
            else if (EXP_FLOOR > shifted)
                log_prob[k] = floor_value;
            else
                log_prob[k] = exp(shifted);
            norm += log_prob[k];
        }
        log_norm = log(norm);
        total += top + log_norm;
        map_sum -= log_norm;
        for (k = 0; k < K; k++) {
            const double r = log_prob[k] / norm;
            const double *dk = diff + k * d;
            double *fk = first + k * d, *sk = second + k * dd;
            resp_sum[k] += r;
            for (a = 0; a < d; a++) {
                const double weighted = r * dk[a];
                fk[a] += weighted;
                for (b = 0; b <= a; b++)
                    sk[a * d + b] += weighted * dk[b];
            }
        }
    }
    *total_out = total;
    *map_sum_out = map_sum;
    return 0;
}


/* One pass over X (n, d): fills resp_sum (K,), first (K, d) and second (K, d, d)
 * (about the current means), the total log-likelihood and sum_i log r_i,argmax.
 * 1 when a covariance is not positive definite or a number is not finite. */
/* estep.c's pass: rows four at a time in vector types, its own vectorised exp. */
int gmm_estep_max_features(void);
int gmm_estep_pass(const double *X, int64_t start, int64_t stop, int64_t d, int64_t K, int kind,
                   const double *means, const double *chol, const double *constant,
                   double *resp_sum, double *first, double *second, double *totals,
                   const int64_t *display, int64_t n_display, int16_t *labels,
                   float *confidence);

/* The pass by estep.c (d <= gmm_estep_max_features()): the same sums, the exp of
 * every row-component vectorised (the scalar loops' floor).  Its statistics come
 * with both triangles; 1 when it fails or the total is not finite. */
static int vector_rows(Work *work, int64_t n, const double *X, const double *means,
                       double *total_out, double *map_sum_out) {
    const int64_t d = work->d, K = work->K, dd = d * d;
    double totals[2];
    int64_t k, a, b;
    for (k = 0; k < K; k++) /* y_j = sum_{l <= j} (x_l - mu_l) U_lj with U = inv(L)^T */
        for (a = 0; a < d; a++)
            for (b = 0; b < d; b++)
                work->upper[k * dd + a * d + b] = work->inverse[k * dd + b * d + a];
    if (gmm_estep_pass(X, 0, n, d, K, 0, means, work->upper, work->constant, work->resp_sum,
                       work->first, work->second, totals, NULL, 0, NULL, NULL) != 0)
        return 1;
    *total_out = totals[0];
    *map_sum_out = totals[1];
    return isfinite(totals[0]) ? 0 : 1;
}

static int e_step(Work *work, int64_t n, const double *X, const double *weights,
                  const double *means, const double *covariances, double *total_out,
                  double *map_sum_out) {
    const int64_t d = work->d, K = work->K, dd = d * d;
    double *second = work->second, *L = work->mat[0];
    int64_t j, k, a, b;
    int failed;
    for (k = 0; k < K; k++) {
        double log_det = 0.0;
        if (cholesky(covariances + k * dd, L, d))
            return 1;
        for (j = 0; j < d; j++)
            log_det += log(L[j * d + j]);
        work->log_det[k] = 2.0 * log_det;
        lower_inverse(L, work->inverse + k * dd, d);
        work->constant[k] = log(weights[k]) - 0.5 * work->log_det[k] - 0.5 * (double)d * LOG_2PI;
    }
    if (d <= gmm_estep_max_features())
        return vector_rows(work, n, X, means, total_out, map_sum_out);
    memset(work->resp_sum, 0, (size_t)K * sizeof(double));
    memset(work->first, 0, (size_t)(K * d) * sizeof(double));
    memset(second, 0, (size_t)(K * dd) * sizeof(double));
    failed = pass_over_rows(work, n, X, means, d, total_out, map_sum_out);
    if (failed)
        return 1;
    for (k = 0; k < K; k++)
        for (a = 0; a < d; a++)
            for (b = 0; b < a; b++)
                second[k * dd + b * d + a] = second[k * dd + a * d + b];
    return isfinite(*total_out) ? 0 : 1;
}

/* ------------------------------------------------------------------ diagonal cores */

/* exp(mean(log(row))) of a row (size,). */
static double geometric_mean(const double *row, int64_t size) {
    double total = 0.0;
    int64_t j;
    for (j = 0; j < size; j++)
        total += log(row[j]);
    return exp(total / (double)size);
}

static double sum_of(const double *a, int64_t size) {
    double total = 0.0;
    int64_t i;
    for (i = 0; i < size; i++)
        total += a[i];
    return total;
}

/* Q for covariances R_k diag(b_k) R_k^T, w_k = diag(R_k^T W_k R_k): w, b (K, d), n (K,). */
static double q_diag(const double *w, const double *n, const double *b, int64_t K, int64_t d) {
    double total = 0.0;
    int64_t k, j;
    for (k = 0; k < K; k++)
        for (j = 0; j < d; j++)
            total += n[k] * log(b[k * d + j]) + w[k * d + j] / b[k * d + j];
    return -0.5 * total;
}

/* EEI: b_k = sum_k w_k / sum_k n_k for every k.  w, b (K, d); n (K,). */
static void eei(const double *w, const double *n, double *b, int64_t K, int64_t d) {
    const double n_total = sum_of(n, K);
    int64_t k, j;
    for (j = 0; j < d; j++) {
        double shared = 0.0;
        for (k = 0; k < K; k++)
            shared += w[k * d + j];
        shared /= n_total;
        for (k = 0; k < K; k++)
            b[k * d + j] = shared;
    }
}

/* EVI: one volume, shapes of their own.  w, b (K, d); n, g (K,). */
static void evi(const double *w, const double *n, double *b, double *g, int64_t K, int64_t d) {
    double scale;
    int64_t k, j;
    for (k = 0; k < K; k++)
        g[k] = geometric_mean(w + k * d, d);
    scale = sum_of(g, K) / sum_of(n, K);
    for (k = 0; k < K; k++)
        for (j = 0; j < d; j++)
            b[k * d + j] = scale * (w[k * d + j] / g[k]);
}

static void vvi(const double *w, const double *n, double *b, int64_t K, int64_t d) {
    int64_t k, j;
    for (k = 0; k < K; k++)
        for (j = 0; j < d; j++)
            b[k * d + j] = w[k * d + j] / n[k];
}

/* VEI's alternation on rescaled axes (engine.model.msteps._vei), from the
 * previous b: w, previous_b, b (K, d); n (K,).  Uses kd[3], kd[4], k1[1], dv[0..2]. */
static void vei(Work *work, const double *w, const double *n, const double *previous_b,
                double *b) {
    const int64_t K = work->K, d = work->d;
    double *unit = work->kd[3], *unit_b = work->kd[4], *lam = work->k1[1];
    double *c = work->dv[0], *a = work->dv[1], *s = work->dv[2];
    const double n_total = sum_of(n, K);
    double q_old, q_new, g;
    int64_t k, j;
    int it;
    for (j = 0; j < d; j++) {
        c[j] = 0.0;
        for (k = 0; k < K; k++)
            c[j] += w[k * d + j];
        c[j] /= n_total;
    }
    for (k = 0; k < K; k++) {
        for (j = 0; j < d; j++) {
            unit[k * d + j] = w[k * d + j] / c[j];
            unit_b[k * d + j] = previous_b[k * d + j] / c[j];
        }
    }
    for (j = 0; j < d; j++)
        a[j] = 0.0; /* log a */
    for (k = 0; k < K; k++) {
        lam[k] = geometric_mean(unit_b + k * d, d);
        for (j = 0; j < d; j++)
            a[j] += log(unit_b[k * d + j]) - log(lam[k]);
    }
    for (j = 0; j < d; j++)
        a[j] = exp(a[j] / (double)K);
    for (k = 0; k < K; k++)
        for (j = 0; j < d; j++)
            b[k * d + j] = lam[k] * a[j] * c[j];
    q_old = q_diag(w, n, b, K, d);
    for (it = 0; it < INNER_MAX_ITER; it++) {
        for (j = 0; j < d; j++)
            s[j] = 0.0;
        for (k = 0; k < K; k++)
            for (j = 0; j < d; j++)
                s[j] += unit[k * d + j] / lam[k];
        g = geometric_mean(s, d);
        for (j = 0; j < d; j++)
            a[j] = s[j] / g;
        for (k = 0; k < K; k++) {
            double total = 0.0;
            for (j = 0; j < d; j++)
                total += unit[k * d + j] / a[j];
            lam[k] = total / (n[k] * (double)d);
            for (j = 0; j < d; j++)
                b[k * d + j] = lam[k] * a[j] * c[j];
        }
        q_new = q_diag(w, n, b, K, d);
        if (fabs(q_new - q_old) <= INNER_TOL * fabs(q_new))
            break;
        q_old = q_new;
    }
}

/* out_k = R_k diag(b_k) R_k^T, symmetrised: vectors, out (K, d, d); b (K, d). */
static void rotate(const double *vectors, const double *b, double *out, int64_t K, int64_t d) {
    const int64_t dd = d * d;
    int64_t k, r, c, j;
    for (k = 0; k < K; k++) {
        const double *v = vectors + k * dd;
        double *o = out + k * dd;
        for (r = 0; r < d; r++) {
            for (c = 0; c < d; c++) {
                double value = 0.0;
                for (j = 0; j < d; j++)
                    value += (v[r * d + j] * b[k * d + j]) * v[c * d + j];
                o[r * d + c] = value;
            }
        }
        symmetrise(o, d);
    }
}

/* ------------------------------------------------------------------ iterative full M-steps */

/* sum(W * C^-T) = tr(W C^-1) in numpy's order: W, C_inv (d, d). */
static double trace_product(const double *W, const double *C_inv, int64_t d) {
    double total = 0.0;
    int64_t a, b;
    for (a = 0; a < d; a++)
        for (b = 0; b < d; b++)
            total += W[a * d + b] * C_inv[b * d + a];
    return total;
}

/* VEE: lambda_k C, C shared with det 1 (engine.model.msteps._vee): w, previous,
 * out (K, d, d); n (K,). */
static int vee(Work *work, const double *w, const double *n, const double *previous,
               double *out) {
    const int64_t K = work->K, d = work->d, dd = d * d;
    double *lam = work->k1[1];
    double *c = work->mat[1], *c_inv = work->mat[2], *prev = work->mat[3];
    double *L = work->mat[4], *L_inv = work->mat[5];
    double log_det, log_det_c, q_old, q_new, scale;
    int64_t k, i;
    int it;
    for (i = 0; i < dd; i++)
        c[i] = 0.0;
    for (k = 0; k < K; k++) {
        memcpy(prev, previous + k * dd, (size_t)dd * sizeof(double));
        symmetrise(prev, d);
        if (log_det_spd(prev, L, d, &log_det))
            return 1;
        lam[k] = exp(log_det / (double)d);
        for (i = 0; i < dd; i++)
            c[i] += prev[i] / lam[k];
    }
    for (i = 0; i < dd; i++)
        c[i] = c[i] / (double)K;
    if (log_det_spd(c, L, d, &log_det))
        return 1;
    scale = exp(log_det / (double)d);
    for (i = 0; i < dd; i++)
        c[i] = c[i] / scale;
    if (spd_inverse(c, c_inv, L, L_inv, d))
        return 1;
    if (log_det_spd(c, L, d, &log_det_c))
        return 1;
    q_old = 0.0;
    for (k = 0; k < K; k++)
        q_old += n[k] * ((double)d * log(lam[k]) + log_det_c)
                 + trace_product(w + k * dd, c_inv, d) / lam[k];
    q_old *= -0.5;
    for (it = 0; it < INNER_MAX_ITER; it++) {
        double *s = prev;
        for (i = 0; i < dd; i++)
            s[i] = 0.0;
        for (k = 0; k < K; k++)
            for (i = 0; i < dd; i++)
                s[i] += w[k * dd + i] / lam[k];
        if (log_det_spd(s, L, d, &log_det))
            return 1;
        scale = exp(log_det / (double)d);
        for (i = 0; i < dd; i++)
            c[i] = s[i] / scale;
        if (spd_inverse(c, c_inv, L, L_inv, d))
            return 1;
        symmetrise(c_inv, d);
        q_new = 0.0;
        for (k = 0; k < K; k++) {
            const double trace = trace_product(w + k * dd, c_inv, d);
            lam[k] = trace / (n[k] * (double)d);
            q_new += n[k] * (double)d * log(lam[k]) + trace / lam[k];
        }
        q_new *= -0.5;
        if (fabs(q_new - q_old) <= INNER_TOL * fabs(q_new))
            break;
        q_old = q_new;
    }
    for (k = 0; k < K; k++) {
        for (i = 0; i < dd; i++)
            out[k * dd + i] = lam[k] * c[i];
        symmetrise(out + k * dd, d);
    }
    return 0;
}

/* diag(D^T W_k D), held above the smallest positive number: w (K, d, d),
 * axes (d, d), out (K, d). */
static void axes_scatter(const double *w, const double *axes, double *out, int64_t K,
                         int64_t d) {
    const int64_t dd = d * d;
    int64_t k, j, a, b;
    for (k = 0; k < K; k++) {
        for (j = 0; j < d; j++) {
            double value = 0.0;
            for (a = 0; a < d; a++) {
                double row = 0.0;
                for (b = 0; b < d; b++)
                    row += w[k * dd + a * d + b] * axes[b * d + j];
                value += axes[a * d + j] * row;
            }
            /* max(value, tiny) as Python's max: a NaN stays NaN */
            out[k * d + j] = DBL_MIN > value ? DBL_MIN : value;
        }
    }
}

/* (W_k A)[a, j]: w_k, axes (d, d). */
static double product_entry(const double *w_k, const double *axes, int64_t a, int64_t j,
                            int64_t d) {
    double value = 0.0;
    int64_t b;
    for (b = 0; b < d; b++)
        value += w_k[a * d + b] * axes[b * d + j];
    return value;
}

/* EVE (code 8) and VVE (code 9): one orientation, shapes by EVI or VVI; see
 * engine.model.msteps._shared_orientation.  w, previous, out (K, d, d); n (K,). */
static int shared_orientation(Work *work, int code, const double *w, const double *n,
                              const double *previous, double *out) {
    const int64_t K = work->K, d = work->d, dd = d * d;
    double *alpha = work->k1[0], *g = work->k1[1];
    double *c = work->kd[0], *b = work->kd[1], *m = work->kd[2];
    double *values = work->dv[3], *s_values = work->dv[4];
    double *axes = work->mat[1], *combined = work->mat[2], *f = work->mat[3];
    double *scratch = work->mat[4], *vecs = work->mat[5], *G = work->mat[6], *V = work->mat[7];
    double q_old, q_new;
    int64_t k, i, a, j;
    int it;
    for (i = 0; i < dd; i++)
        combined[i] = 0.0;
    for (k = 0; k < K; k++) {
        const double weight = 1.0 + sqrt(2.0) * (double)k / (double)K;
        memcpy(scratch, previous + k * dd, (size_t)dd * sizeof(double));
        symmetrise(scratch, d);
        for (i = 0; i < dd; i++)
            combined[i] += weight * scratch[i];
    }
    if (symmetric_eigen(combined, values, axes, scratch, d))
        return 1;
    /* The two polar steps' right rotations, each kept for the next inner
     * iteration's (nearby) F: V1 in V, V2 where `combined` was. */
    for (i = 0; i < dd; i++)
        V[i] = combined[i] = 0.0;
    for (i = 0; i < d; i++)
        V[i * d + i] = combined[i * d + i] = 1.0;
    for (k = 0; k < K; k++) {
        if (symmetric_eigen(w + k * dd, values, vecs, scratch, d))
            return 1;
        alpha[k] = values[d - 1];
    }
#define DIAGONAL_CORE(src)                                                                      \
    do {                                                                                        \
        if (code == EVE)                                                                        \
            evi(src, n, b, g, K, d);                                                            \
        else                                                                                    \
            vvi(src, n, b, K, d);                                                               \
    } while (0)
    axes_scatter(w, axes, c, K, d);
    DIAGONAL_CORE(c);
    q_old = q_diag(c, n, b, K, d);
    for (it = 0; it < INNER_MAX_ITER; it++) {
        for (i = 0; i < K * d; i++)
            m[i] = 1.0 / b[i];
        for (i = 0; i < dd; i++)
            f[i] = 0.0;
        for (k = 0; k < K; k++)
            for (a = 0; a < d; a++)
                for (j = 0; j < d; j++)
                    f[a * d + j] += alpha[k] * (axes[a * d + j] * m[k * d + j])
                                    - product_entry(w + k * dd, axes, a, j, d) * m[k * d + j];
        if (!all_finite(f, dd) || polar_factor(f, axes, G, V, s_values, values, d))
            return 1;
        for (i = 0; i < dd; i++)
            f[i] = 0.0;
        for (k = 0; k < K; k++) {
            double largest = m[k * d];
            for (j = 1; j < d; j++)
                largest = m[k * d + j] > largest ? m[k * d + j] : largest;
            for (a = 0; a < d; a++)
                for (j = 0; j < d; j++)
                    f[a * d + j] +=
                        product_entry(w + k * dd, axes, a, j, d) * (largest - m[k * d + j]);
        }
        if (!all_finite(f, dd) || polar_factor(f, axes, G, combined, s_values, values, d))
            return 1;
        axes_scatter(w, axes, c, K, d);
        DIAGONAL_CORE(c);
        q_new = q_diag(c, n, b, K, d);
        if (fabs(q_new - q_old) <= INNER_TOL * fabs(q_new))
            break;
        q_old = q_new;
    }
#undef DIAGONAL_CORE
    for (k = 0; k < K; k++) {
        for (a = 0; a < d; a++) {
            for (j = 0; j < d; j++) {
                double value = 0.0;
                for (i = 0; i < d; i++)
                    value += (axes[a * d + i] * b[k * d + i]) * axes[j * d + i];
                out[k * dd + a * d + j] = value;
            }
        }
        symmetrise(out + k * dd, d);
    }
    return 0;
}

/* ------------------------------------------------------------------ M-step */

/* The covariances of structure `code` (work->out, (K, d, d)) from the scatter
 * about the new means (work->scatter), n (K,) the summed responsibilities with
 * the 10 eps offset, and the current covariances `previous` (K, d, d), where
 * the iterative M-steps start. */
static int m_step_covariances(Work *work, int code, const double *n, double reg,
                              const double *previous) {
    const int64_t K = work->K, d = work->d, dd = d * d;
    const double *scatter = work->scatter;
    double *out = work->out;
    int64_t k, j, i;
    memset(out, 0, (size_t)(K * dd) * sizeof(double));
    if (code <= VVI) { /* axis-aligned: only the diagonals count, clipped as in numpy */
        double *wd = work->kd[0], *bd = work->kd[1], *prev_b = work->kd[2];
        for (k = 0; k < K; k++) {
            for (j = 0; j < d; j++) {
                const double v = scatter[k * dd + j * d + j];
                wd[k * d + j] = isnan(v) ? v : (v > 0.0 ? v : 0.0); /* np.maximum */
            }
        }
        if (code == VII) {
            for (k = 0; k < K; k++) {
                double variance = 0.0;
                for (j = 0; j < d; j++)
                    variance += wd[k * d + j] / n[k] + reg;
                variance /= (double)d;
                for (j = 0; j < d; j++)
                    out[k * dd + j * d + j] = variance;
            }
            return 0;
        }
        if (code == VVI) {
            vvi(wd, n, bd, K, d);
            for (k = 0; k < K; k++)
                for (j = 0; j < d; j++)
                    out[k * dd + j * d + j] = bd[k * d + j] + reg;
            return 0;
        }
        for (k = 0; k < K; k++)
            for (j = 0; j < d; j++)
                wd[k * d + j] += n[k] * reg;
        if (code == EII) {
            const double shared = sum_of(wd, K * d) / (sum_of(n, K) * (double)d);
            for (i = 0; i < K * d; i++)
                bd[i] = shared;
        } else if (code == EEI) {
            eei(wd, n, bd, K, d);
        } else if (code == VEI) {
            for (k = 0; k < K; k++)
                for (j = 0; j < d; j++)
                    prev_b[k * d + j] = previous[k * dd + j * d + j];
            vei(work, wd, n, prev_b, bd);
        } else {
            evi(wd, n, bd, work->k1[0], K, d);
        }
        for (k = 0; k < K; k++)
            for (j = 0; j < d; j++)
                out[k * dd + j * d + j] = bd[k * d + j];
        return 0;
    }
    if (code == EEE) {
        const double n_total = sum_of(n, K);
        for (i = 0; i < dd; i++) {
            double shared = 0.0;
            for (k = 0; k < K; k++)
                shared += scatter[k * dd + i];
            out[i] = shared / n_total;
        }
        for (j = 0; j < d; j++)
            out[j * d + j] += reg;
        for (k = 1; k < K; k++)
            memcpy(out + k * dd, out, (size_t)dd * sizeof(double));
        return 0;
    }
    if (code == VVV) {
        for (k = 0; k < K; k++) {
            for (i = 0; i < dd; i++)
                out[k * dd + i] = scatter[k * dd + i] / n[k];
            for (j = 0; j < d; j++)
                out[k * dd + j * d + j] += reg;
        }
        return 0;
    }
    {
        double *w = work->w;
        memcpy(w, scatter, (size_t)(K * dd) * sizeof(double));
        for (k = 0; k < K; k++) {
            for (j = 0; j < d; j++)
                w[k * dd + j * d + j] += n[k] * reg;
            symmetrise(w + k * dd, d);
        }
        if (code == VEE)
            return vee(work, w, n, previous, out);
        if (code == EVE || code == VVE)
            return shared_orientation(work, code, w, n, previous, out);
        if (code == EVV) {
            double *g = work->k1[0], scale, log_det;
            for (k = 0; k < K; k++) {
                if (log_det_spd(w + k * dd, work->mat[0], d, &log_det))
                    return 1;
                g[k] = exp(log_det / (double)d);
            }
            scale = sum_of(g, K) / sum_of(n, K);
            for (k = 0; k < K; k++)
                for (i = 0; i < dd; i++)
                    out[k * dd + i] = scale * (w[k * dd + i] / g[k]);
            return 0;
        }
        {
            double *omega = work->kd[0], *bd = work->kd[1], *previous_shape = work->kd[2];
            double *vectors = work->vectors, *scratch = work->mat[0], *prev = work->mat[1];
            double *unused = work->mat[2];
            for (k = 0; k < K; k++)
                if (symmetric_eigen(w + k * dd, omega + k * d, vectors + k * dd, scratch, d))
                    return 1;
            if (code == EEV) {
                eei(omega, n, bd, K, d);
            } else { /* VEV */
                for (k = 0; k < K; k++) {
                    memcpy(prev, previous + k * dd, (size_t)dd * sizeof(double));
                    symmetrise(prev, d);
                    if (symmetric_eigen(prev, previous_shape + k * d, unused, scratch, d))
                        return 1;
                }
                vei(work, omega, n, previous_shape, bd);
            }
            rotate(vectors, bd, out, K, d);
            return 0;
        }
    }
}

/* Every variance positive and every entry finite: covariances (K, d, d). */
static int usable(const double *covariances, int64_t K, int64_t d) {
    int64_t k, j;
    for (k = 0; k < K; k++)
        for (j = 0; j < d; j++)
            if (!(covariances[k * d * d + j * d + j] > 0.0))
                return 0;
    return all_finite(covariances, K * d * d);
}

/* engine.em.loop.has_converged; has_before: whether `before` exists. */
static int has_converged(double previous, double current, double tol, double before,
                         int has_before) {
    const double scale = tol * (1.0 + fabs(current));
    const double change = current - previous;
    double earlier, rate;
    if (fabs(change) > scale)
        return 0;
    if (!has_before)
        return 1;
    earlier = previous - before;
    if (change <= 0 || earlier <= 0)
        return 1;
    rate = change / earlier;
    if (rate >= 1.0)
        return 0;
    return change * rate / (1.0 - rate) <= scale;
}

/* ------------------------------------------------------------------ the loop */

/*
 * EM from the given parameters to convergence or max_iter M-steps.
 *
 * X (n, d) C-ordered; weights (K,), means (K, d), covariances (K, d, d) full, in
 * the structure `code`: read as the start, overwritten with the parameters of
 * the last E-step when GMM_DONE is returned (left in between on a give-up).
 * iteration: M-steps done; converged: 0 / 1; total, map_sum: the log-likelihood
 * and sum_i log r_i,argmax under the returned parameters; last_change: the
 * last change of the mean log-likelihood (NaN before two E-steps).
 * Returns GMM_DONE, or GMM_GAVE_UP (also when the work arrays cannot be had).
 */
int gmm_em_loop(int64_t n, int64_t d, int64_t K, const double *X, double *weights,
                double *means, double *covariances, int code, double tol, int64_t max_iter,
                double reg, int64_t *iteration_out, int *converged_out, double *total_out,
                double *map_sum_out, double *last_change_out) {
    Work work;
    const int64_t dd = d * d;
    double previous = 0.0, before = 0.0, last_change = NAN, total = NAN, map_sum = NAN;
    int64_t iteration = 0, k, a, b;
    int outcome = GMM_GAVE_UP, converged = 0;
    if (n < 1 || d < 1 || K < 1 || code < EII || code > VVV)
        return GMM_GAVE_UP;
    if (work_alloc(&work, d, K))
        return GMM_GAVE_UP;
    for (;;) {
        double mean_ll, safe_total = 0.0, smallest;
        if (e_step(&work, n, X, weights, means, covariances, &total, &map_sum))
            break;
        mean_ll = total / (double)n;
        if (!isfinite(mean_ll))
            break;
        converged = iteration > 0
                    && has_converged(previous, mean_ll, tol, before, iteration > 1);
        if (iteration > 0)
            last_change = fabs(mean_ll - previous);
        if (converged || iteration >= max_iter) {
            outcome = GMM_DONE;
            break;
        }
        smallest = work.resp_sum[0];
        for (k = 1; k < K; k++)
            smallest = work.resp_sum[k] < smallest ? work.resp_sum[k] : smallest;
        if (smallest < EMPTY_COMPONENT_MASS)
            break; /* numpy's path re-seeds the component and says so */
        for (k = 0; k < K; k++)
            work.safe[k] = work.resp_sum[k] + 10 * DBL_EPSILON;
        for (k = 0; k < K; k++) {
            const double safe = work.safe[k];
            const double *fk = work.first + k * d, *sk = work.second + k * dd;
            double *scatter = work.scatter + k * dd;
            for (a = 0; a < d; a++) {
                const double delta_a = fk[a] / safe;
                for (b = 0; b < d; b++)
                    scatter[a * d + b] = sk[a * d + b] - safe * delta_a * (fk[b] / safe);
            }
            symmetrise(scatter, d);
            for (a = 0; a < d; a++)
                means[k * d + a] = means[k * d + a] + fk[a] / safe;
        }
        if (m_step_covariances(&work, code, work.safe, reg, covariances))
            break;
        if (!usable(work.out, K, d))
            break;
        memcpy(covariances, work.out, (size_t)(K * dd) * sizeof(double));
        safe_total = sum_of(work.safe, K);
        for (k = 0; k < K; k++)
            weights[k] = work.safe[k] / safe_total;
        before = previous;
        previous = mean_ll;
        iteration += 1;
    }
    work_free(&work);
    *iteration_out = iteration;
    *converged_out = converged;
    *total_out = total;
    *map_sum_out = map_sum;
    *last_change_out = last_change;
    return outcome;
}
