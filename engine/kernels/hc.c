/* mclust's model-based agglomerative clustering: the merge loop of
 * engine/em/hierarchical.py (``_merge_loop`` and ``_Clusters``) in C.
 *
 * The Python loop is vectorised per merge, but a tree of L leaves takes L - 1
 * merges of a few dozen numpy calls each (0.4 s for 1,000 rows, 1.3 s for
 * mclust's 2,000-row subset); here each merge is plain arithmetic.  The loop is
 * the Python one step for step: the same cost matrix D (L, L), the same
 * per-column minima kept incrementally, the same ties (the last minimum wins,
 * as mclust's scan with <=), the same slot moves.  The log-determinant is an LU
 * factorisation with partial pivoting, as numpy's slogdet; the two round alike
 * only to the last bits, so exactly tied costs aside the trees are the same
 * (tests/engine/em/test_hierarchical.py holds the two to the same merges).
 *
 * Models: 0 VVV (mclust's hcVVV), 1 EII (Ward), 2 V (one feature, hcV).
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { HC_VVV = 0, HC_EII = 1, HC_V = 2 };

typedef struct {
    int model;
    int64_t p;
    double alpha, beta;
    double *n;     /* (L,) sizes */
    double *mean;  /* (L, p) */
    double *W;     /* (L, p, p) scatters about the means (VVV only) */
    double *tr;    /* (L,) traces of the scatters */
    double *term;  /* (L,) each cluster's term (not EII) */
    double *lu;    /* (p, p) scratch for the log-determinant */
    double *diff;  /* (p,) scratch */
    double *scatter; /* (p, p) scratch: a merged scatter */
} Clusters;

/* log det(A / l) for a symmetric (p, p) A, -inf unless the determinant is
 * positive: LU with partial pivoting (the first largest pivot, as LAPACK). */
static double log_det_scaled(const double *A, double l, int64_t p, double *lu)
{
    for (int64_t t = 0; t < p * p; t++)
        lu[t] = A[t] / l;
    double log_abs = 0.0;
    int negative = 0;
    for (int64_t c = 0; c < p; c++) {
        int64_t pivot = c;
        double largest = fabs(lu[c * p + c]);
        for (int64_t r = c + 1; r < p; r++)
            if (fabs(lu[r * p + c]) > largest) {
                largest = fabs(lu[r * p + c]);
                pivot = r;
            }
        if (!(largest > 0.0))
            return -INFINITY; /* singular (or NaN) */
        if (pivot != c) {
            for (int64_t t = 0; t < p; t++) {
                double swap = lu[c * p + t];
                lu[c * p + t] = lu[pivot * p + t];
                lu[pivot * p + t] = swap;
            }
            negative = !negative;
        }
        const double head = lu[c * p + c];
        if (head < 0.0)
            negative = !negative;
        log_abs += log(fabs(head));
        for (int64_t r = c + 1; r < p; r++) {
            const double factor = lu[r * p + c] / head;
            for (int64_t t = c + 1; t < p; t++)
                lu[r * p + t] -= factor * lu[c * p + t];
        }
    }
    return negative ? -INFINITY : log_abs;
}

/* numpy's logaddexp */
static double log_add_exp(double x, double y)
{
    if (x == y)
        return x + 0.693147180559945309417232121458176568; /* log 2 */
    const double gap = x - y;
    if (gap > 0)
        return x + log1p(exp(-gap));
    if (gap <= 0)
        return y + log1p(exp(gap));
    return x + y; /* NaN */
}

/* A cluster's term: size l, scatter trace tr, scatter W (NULL: not counted). */
static double term_of(const Clusters *c, double l, double tr, const double *W)
{
    if (c->model == HC_V)
        return l * log((tr + c->alpha) / l);
    const double log_spherical = log(c->beta * (tr + c->alpha) / l);
    if (W == NULL || !(l > (double)c->p))
        return l * log_spherical;
    return l * log_add_exp(log_det_scaled(W, l, c->p, c->lu), log_spherical);
}

/* Sizes and the weighted squared distance of slots a and b; c->diff = mean_b - mean_a. */
static void pair_stats(Clusters *c, int64_t a, int64_t b, double *nab, double *f, double *ss)
{
    const int64_t p = c->p;
    *nab = c->n[a] + c->n[b];
    double dot = 0.0;
    for (int64_t t = 0; t < p; t++) {
        c->diff[t] = c->mean[b * p + t] - c->mean[a * p + t];
        dot += c->diff[t] * c->diff[t];
    }
    *f = c->n[a] * c->n[b] / *nab;
    *ss = *f * dot;
}

/* c->scatter = W_a + W_b + f diff diff^T (after pair_stats of a, b) */
static void merged_scatter(Clusters *c, int64_t a, int64_t b, double f)
{
    const int64_t p = c->p;
    const double *Wa = c->W + a * p * p, *Wb = c->W + b * p * p;
    for (int64_t r = 0; r < p; r++)
        for (int64_t t = 0; t < p; t++)
            c->scatter[r * p + t] = (Wa[r * p + t] + Wb[r * p + t]) + f * c->diff[r] * c->diff[t];
}

/* The cost of merging slots a and b (symmetric in a and b, as mclust). */
static double join(Clusters *c, int64_t a, int64_t b)
{
    double nab, f, ss;
    pair_stats(c, a, b, &nab, &f, &ss);
    if (c->model == HC_EII)
        return ss;
    const double tr = c->tr[a] + c->tr[b] + ss;
    const double *W = NULL;
    if (c->model == HC_VVV && nab > (double)c->p) {
        merged_scatter(c, a, b, f);
        W = c->scatter;
    }
    return term_of(c, nab, tr, W) - (c->term[a] + c->term[b]);
}

/* Slot i <- i + j; slot j <- last. */
static void merge(Clusters *c, int64_t i, int64_t j, int64_t last)
{
    const int64_t p = c->p;
    double nab, f, ss;
    pair_stats(c, i, j, &nab, &f, &ss);
    if (c->model != HC_EII) {
        c->tr[i] = c->tr[i] + c->tr[j] + ss;
        const double *W = NULL;
        if (c->W != NULL) {
            merged_scatter(c, i, j, f);
            memcpy(c->W + i * p * p, c->scatter, (size_t)(p * p) * sizeof(double));
            if (nab > (double)p)
                W = c->W + i * p * p;
        }
        c->term[i] = term_of(c, nab, c->tr[i], W);
    }
    for (int64_t t = 0; t < p; t++)
        c->mean[i * p + t] = (c->n[i] * c->mean[i * p + t] + c->n[j] * c->mean[j * p + t]) / nab;
    c->n[i] = nab;
    c->n[j] = c->n[last];
    c->tr[j] = c->tr[last];
    memmove(c->mean + j * p, c->mean + last * p, (size_t)p * sizeof(double));
    if (c->W != NULL)
        memmove(c->W + j * p * p, c->W + last * p * p, (size_t)(p * p) * sizeof(double));
    if (c->term != NULL)
        c->term[j] = c->term[last];
}

/* The minimum over rows 0 .. col-1 of column col of D and the last row reaching
 * it; when every one is infinite, row top - 1 (as the Python loop, which scans
 * rows 0 .. top-1 with those from col on set to infinity). */
static void column_minimum(const double *D, int64_t L, int64_t col, int64_t top, double *value,
                           int64_t *row)
{
    double best = INFINITY;
    int64_t where = top - 1;
    for (int64_t r = col - 1; r >= 0; r--)
        if (D[r * L + col] < best) {
            best = D[r * L + col];
            where = r;
        }
    *value = best;
    *row = where;
}

/* The merges (L - 1, 2) and their costs (L - 1,) of L clusters in p dimensions,
 * starting from sizes n0 (L,) and means mean0 (L, p) (scatters zero: each
 * cluster is one row or identical rows).  Returns 0, or 1 when out of memory. */
int gmm_hc_merges(int64_t L, int64_t p, int model, const double *n0, const double *mean0,
                  double alpha, double beta, int64_t *merges, double *costs)
{
    Clusters c = {model, p, alpha, beta, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    double *D = malloc((size_t)(L * L) * sizeof(double));
    double *colmin = malloc((size_t)L * sizeof(double));
    int64_t *colarg = malloc((size_t)L * sizeof(int64_t));
    int64_t *node = malloc((size_t)L * sizeof(int64_t));
    unsigned char *stale = malloc((size_t)L);
    c.n = malloc((size_t)L * sizeof(double));
    c.mean = malloc((size_t)(L * p) * sizeof(double));
    c.tr = calloc((size_t)L, sizeof(double));
    c.term = model == HC_EII ? NULL : malloc((size_t)L * sizeof(double));
    c.W = model == HC_VVV ? calloc((size_t)(L * p * p), sizeof(double)) : NULL;
    c.lu = malloc((size_t)(p * p) * sizeof(double));
    c.diff = malloc((size_t)p * sizeof(double));
    c.scatter = malloc((size_t)(p * p) * sizeof(double));
    int status = 1;
    if (!D || !colmin || !colarg || !node || !stale || !c.n || !c.mean || !c.tr || !c.lu
        || !c.diff || !c.scatter || (model != HC_EII && !c.term) || (model == HC_VVV && !c.W))
        goto done;
    memcpy(c.n, n0, (size_t)L * sizeof(double));
    memcpy(c.mean, mean0, (size_t)(L * p) * sizeof(double));
    if (c.term != NULL)
        for (int64_t k = 0; k < L; k++)
            c.term[k] = term_of(&c, c.n[k], 0.0, c.W != NULL ? c.W + k * p * p : NULL);

    for (int64_t t = 0; t < L * L; t++)
        D[t] = INFINITY;
    for (int64_t j = 1; j < L; j++)
        for (int64_t i = 0; i < j; i++)
            D[i * L + j] = D[j * L + i] = join(&c, j, i);
    colmin[0] = INFINITY;
    colarg[0] = 0;
    for (int64_t j = 1; j < L; j++)
        column_minimum(D, L, j, j, &colmin[j], &colarg[j]);
    for (int64_t k = 0; k < L; k++)
        node[k] = k;

    for (int64_t g = L, t = 0; g > 1; g--, t++) { /* g clusters in slots 0 .. g-1 */
        double m = INFINITY;
        int64_t j = 1;
        for (int64_t col = 1; col < g; col++)
            if (colmin[col] <= m) {
                m = colmin[col];
                j = col;
            }
        const int64_t i = colarg[j], last = g - 1;
        merges[2 * t] = node[i] < node[j] ? node[i] : node[j];
        merges[2 * t + 1] = node[i] < node[j] ? node[j] : node[i];
        costs[t] = m;
        merge(&c, i, j, last);
        node[i] = 2 * L - g;
        node[j] = node[last];
        if (j != last) { /* slot `last` moves to j */
            for (int64_t r = 0; r < g; r++) {
                D[j * L + r] = D[last * L + r];
                D[r * L + j] = D[r * L + last];
            }
            D[j * L + j] = INFINITY;
        }
        for (int64_t r = 0; r < L; r++)
            D[last * L + r] = D[r * L + last] = INFINITY;
        const int64_t h = g - 1; /* clusters left */
        for (int64_t r = 0; r < h; r++)
            if (r != i)
                D[i * L + r] = D[r * L + i] = join(&c, i, r);
        for (int64_t col = h; col < L; col++)
            colmin[col] = INFINITY;
        /* Columns whose candidates changed: rows i (columns > i) and j (columns > j). */
        for (int64_t col = i + 1; col < h; col++)
            stale[col] = colarg[col] == i || colarg[col] == j || col == j;
        const int64_t rows[2] = {i, j};
        for (int s = 0; s < 2; s++) { /* new candidates in fresh columns; ties to the larger row */
            const int64_t r = rows[s];
            for (int64_t col = (r > i ? r : i) + 1; col < h; col++) {
                if (stale[col])
                    continue;
                const double v = D[r * L + col];
                if (v < colmin[col] || (v == colmin[col] && r > colarg[col])) {
                    colmin[col] = v;
                    colarg[col] = r;
                }
            }
        }
        if (i > 0)
            column_minimum(D, L, i, h, &colmin[i], &colarg[i]);
        for (int64_t col = i + 1; col < h; col++)
            if (stale[col])
                column_minimum(D, L, col, h, &colmin[col], &colarg[col]);
    }
    status = 0;
done:
    free(D);
    free(colmin);
    free(colarg);
    free(node);
    free(stale);
    free(c.n);
    free(c.mean);
    free(c.tr);
    free(c.term);
    free(c.W);
    free(c.lu);
    free(c.diff);
    free(c.scatter);
    return status;
}
