"""Model-based hierarchical clustering (mclust's hc): one tree, every K."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage

from engine.em.hierarchical import Tree, _Clusters, hierarchical_tree, transform_data
from engine.metrics import adjusted_rand


def blobs(n_per=40, d=3, k=3, seed=0, spread=12.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(k, d))
    X = np.vstack(
        [c + rng.normal(size=(n_per, d)) * (0.5 + 0.3 * j) for j, c in enumerate(centres)]
    )
    truth = np.repeat(np.arange(k), n_per)
    perm = rng.permutation(X.shape[0])
    return X[perm], truth[perm]


def brute_force_merges(Z, model):
    """mclust's loop written plainly: scan pairs (j, i < j), the last minimum wins."""
    L = Z.shape[0]
    cl = _Clusters(Z, np.arange(L), L, model)
    node, merges = list(range(L)), []
    for g in range(L, 1, -1):
        best = (np.inf, -1, -1)
        for j in range(1, g):
            cost = cl.join(j, np.arange(j))
            for i in range(j):
                if cost[i] <= best[0]:
                    best = (cost[i], i, j)
        _, i, j = best
        merges.append((min(node[i], node[j]), max(node[i], node[j])))
        cl.merge(i, j, g - 1)
        node[i], node[j] = 2 * L - g, node[g - 1]
    return merges


def same_partition(a, b):
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == np.unique(a).size == np.unique(b).size


@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_deterministic(model):
    X, _ = blobs(seed=1)
    a, b = hierarchical_tree(X, model=model), hierarchical_tree(X.copy(), model=model)
    assert np.array_equal(a.merges, b.merges)
    assert np.array_equal(a.costs, b.costs)
    for k in (1, 2, 5, 50):
        assert np.array_equal(a.labels(k), b.labels(k))


@pytest.mark.parametrize("model", ["VVV", "EII"])
@pytest.mark.parametrize("grid", [False, True])
def test_incremental_minima_match_the_plain_loop(model, grid):
    rng = np.random.default_rng(7)
    if grid:  # integer points: many exactly tied costs
        X = rng.integers(0, 6, size=(45, 2)).astype(float)
    else:
        X = rng.normal(size=(45, 3))
        X[:20] += 3.0
    tree = hierarchical_tree(X, model=model, transform=None)
    assert tree.merges.tolist() == [list(m) for m in brute_force_merges(X, model)]


@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_labels_form_a_refinement_chain(model):
    X, _ = blobs(n_per=30, seed=2)
    tree = hierarchical_tree(X, model=model)
    assert tree.n_leaves == X.shape[0]
    previous = tree.labels(1)
    assert np.array_equal(previous, np.zeros(X.shape[0], dtype=int))
    for k in range(2, tree.n_leaves + 1):
        labels = tree.labels(k)
        assert labels.min() == 0 and labels.max() == k - 1
        assert np.array_equal(np.unique(labels), np.arange(k))
        # every new cluster lies inside one old cluster, and exactly one old cluster split
        pairs = np.unique(np.stack([previous, labels]), axis=1)
        assert pairs.shape[1] == k
        assert np.bincount(pairs[0]).max() == 2 and (np.bincount(pairs[0]) == 2).sum() == 1
        previous = labels


@pytest.mark.parametrize("model", ["VVV", "EII"])
@pytest.mark.parametrize("seed", [0, 3])
def test_separated_blobs_are_recovered(model, seed):
    X, truth = blobs(n_per=50, d=3, k=4, seed=seed, spread=15.0)
    tree = hierarchical_tree(X, model=model)
    assert adjusted_rand(truth, tree.labels(4)) == pytest.approx(1.0)


def test_eii_is_ward():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3)) * [1.0, 2.0, 0.5]
    X[:25] += 2.5
    tree = hierarchical_tree(X, model="EII", transform=None)
    ward = linkage(X, method="ward")  # nodes numbered as ours: leaves, then n + t
    scipy_tree = Tree(np.arange(60), ward[:, :2].astype(np.intp), ward[:, 2], X, "EII", None)
    for k in range(1, 61):
        assert same_partition(scipy_tree.labels(k), tree.labels(k)), k


@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_svd_transform_is_invariant_to_feature_scale_and_shift(model):
    X, _ = blobs(n_per=25, seed=4)
    Y = X * np.array([1000.0, 0.001, -3.0]) + np.array([5.0, -2.0, 1e3])
    a, b = hierarchical_tree(X, model=model), hierarchical_tree(Y, model=model)
    for k in range(1, 76):
        assert same_partition(a.labels(k), b.labels(k)), k


def test_svd_transform_is_mclusts():
    # mclust: scale(), then Z = X_s V diag(1 / sqrt(s)), i.e. Z = U diag(sqrt(s))
    X, _ = blobs(n_per=20, seed=6)
    Xs = (X - X.mean(0)) / X.std(0, ddof=1)
    U, s, _ = np.linalg.svd(Xs, full_matrices=False)
    Z = transform_data(X, "SVD")
    np.testing.assert_allclose(np.abs(Z), np.abs(U * np.sqrt(s)), atol=1e-12)


def test_one_row_and_duplicates():
    tree = hierarchical_tree(np.array([[1.0, 2.0, 3.0]]))
    assert tree.n_leaves == 1 and np.array_equal(tree.labels(1), [0])
    with pytest.raises(ValueError):
        tree.labels(2)
    X = np.repeat(np.random.default_rng(0).normal(size=(5, 2)), 4, axis=0)  # 5 rows, 4 times
    for model in ("VVV", "EII"):
        tree = hierarchical_tree(X, model=model)
        assert np.all(np.isfinite(tree.costs))
        assert same_partition(tree.labels(5), np.repeat(np.arange(5), 4))
        distinct = hierarchical_tree(X, model=model, merge_duplicates=True)
        assert distinct.n_leaves == 5
        assert np.array_equal(distinct.labels(5), np.repeat(np.arange(5), 4))
    same = hierarchical_tree(np.ones((6, 3)))
    assert np.array_equal(same.labels(1), np.zeros(6, dtype=int))
    assert np.array_equal(
        hierarchical_tree(np.ones((6, 3)), merge_duplicates=True).labels(1), [0] * 6
    )


def test_one_dimension_uses_v():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 40), rng.normal(20, 1, 40)])
    tree = hierarchical_tree(x[:, None])
    assert tree.model == "V"
    assert same_partition(tree.labels(2), np.repeat([0, 1], 40))


def test_subset_beyond_max_rows():
    X, truth = blobs(n_per=200, d=2, k=3, seed=8)
    tree = hierarchical_tree(X, max_rows=150, rng=3)
    assert tree.n_leaves == 150 and (tree.leaf_of_row >= 0).sum() == 150
    labels = tree.labels(3)
    assert labels.shape == (600,)
    assert adjusted_rand(truth, labels) == pytest.approx(1.0)
    again = hierarchical_tree(X, max_rows=150, rng=3)
    assert np.array_equal(again.labels(7), tree.labels(7))


# The merge loop in C (engine/kernels/hc.c) against the numpy loop


def test_the_c_merge_loop_is_built():
    """make test installs with a C compiler: a broken build must fail here, not fall back."""
    from engine.kernels import clib

    assert clib.library_path() is not None
    assert clib.function("gmm_hc_merges", None, []) is not None


def _both_loops(Z, model, leaf=None):
    from engine.em.hierarchical import _merge_loop_in_c, _merge_loop_in_numpy

    leaf = np.arange(Z.shape[0]) if leaf is None else leaf
    L = int(leaf.max()) + 1
    in_c = _merge_loop_in_c(_Clusters(Z, leaf, L, model), L)
    in_numpy = _merge_loop_in_numpy(_Clusters(Z, leaf, L, model), L)
    assert in_c is not None
    return (np.asarray(in_c[0]), np.asarray(in_c[1])), (
        np.asarray(in_numpy[0]).reshape(-1, 2),
        np.asarray(in_numpy[1]),
    )


@pytest.mark.parametrize(
    "case",
    ["blobs-3d", "faithful-like", "integer-grid", "six-features", "one-feature", "duplicates"],
)
@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_c_and_numpy_merge_loops_build_the_same_tree(case, model):
    rng = np.random.default_rng(11)
    leaf = None
    if case == "blobs-3d":
        Z = blobs(n_per=60, seed=2)[0]
    elif case == "faithful-like":  # two elongated, correlated groups, values on a grid
        a = rng.multivariate_normal([2.0, 55.0], [[0.07, 0.5], [0.5, 34.0]], 100)
        b = rng.multivariate_normal([4.3, 80.0], [[0.17, 0.9], [0.9, 34.0]], 170)
        Z = np.round(np.vstack([a, b]), 1)
    elif case == "integer-grid":  # many costs tied to the last bits: the same tree still
        Z = rng.integers(0, 6, size=(80, 2)).astype(float)
    elif case == "six-features":
        Z = rng.normal(size=(150, 6)) + np.repeat(rng.normal(scale=4, size=(3, 6)), 50, axis=0)
    elif case == "one-feature":
        Z, model = rng.normal(size=(90, 1)), "V"
    else:  # identical rows start as one leaf with a zero scatter
        X = rng.normal(size=(50, 3))[rng.integers(0, 50, size=90)]
        _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
        rank = np.empty(first.shape[0], dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
        Z, leaf = X, rank[inverse.reshape(-1)]
    Z = transform_data(Z, "SVD") if Z.shape[1] > 1 else Z
    (c_merges, c_costs), (np_merges, np_costs) = _both_loops(Z, model, leaf)
    assert c_merges.tolist() == np_merges.tolist()
    np.testing.assert_allclose(c_costs, np_costs, rtol=1e-12, atol=1e-12)
