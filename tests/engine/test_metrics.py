import numpy as np
import pytest

from engine.data.datasets import make_scenario
from engine.metrics import (
    LabelScores,
    adjusted_rand,
    align_labels,
    compare_with_kmeans,
    kmeans_baseline,
    matched_accuracy,
    normalized_mutual_info,
    score_labels,
)

TRUE = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])


def test_identical_labels_score_one():
    assert adjusted_rand(TRUE, TRUE) == 1.0
    assert normalized_mutual_info(TRUE, TRUE) == pytest.approx(1.0)
    accuracy, mapping = matched_accuracy(TRUE, TRUE)
    assert accuracy == 1.0
    np.testing.assert_array_equal(mapping, [0, 1, 2])


def test_permuted_labels_still_score_one_with_the_right_mapping():
    permutation = np.array([2, 0, 1])  # true class c was called permutation[c]
    pred = permutation[TRUE]
    assert adjusted_rand(TRUE, pred) == pytest.approx(1.0)
    assert normalized_mutual_info(TRUE, pred) == pytest.approx(1.0)
    accuracy, mapping = matched_accuracy(TRUE, pred)
    assert accuracy == 1.0
    np.testing.assert_array_equal(mapping[pred], TRUE)
    np.testing.assert_array_equal(mapping, np.argsort(permutation))


def test_accuracy_counts_the_rows_off_the_best_matching():
    pred = np.array([1, 1, 0, 0, 0, 0, 2, 2, 2, 1])
    accuracy, mapping = matched_accuracy(TRUE, pred)
    # Best matching: 1 -> 0 (2 rows), 0 -> 1 (3 rows), 2 -> 2 (3 rows).
    assert accuracy == pytest.approx(0.8)
    np.testing.assert_array_equal(mapping, [1, 0, 2])


def test_more_components_than_classes_leaves_the_extra_unmatched():
    pred = np.array([0, 0, 3, 1, 1, 1, 2, 2, 2, 4])
    accuracy, mapping = matched_accuracy(TRUE, pred)
    assert accuracy == pytest.approx(8 / 10)
    assert mapping.shape == (5,)
    np.testing.assert_array_equal(mapping[:3], [0, 1, 2])
    np.testing.assert_array_equal(mapping[3:], [-1, -1])


def test_fewer_components_than_classes():
    pred = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    accuracy, mapping = matched_accuracy(TRUE, pred)
    assert accuracy == pytest.approx(7 / 10)  # component 1 takes class 2 (4 rows)
    np.testing.assert_array_equal(mapping, [0, 2])


def test_absent_component_maps_to_minus_one():
    pred = np.array([0, 0, 0, 2, 2, 2, 3, 3, 3, 3])  # component 1 holds no rows
    accuracy, mapping = matched_accuracy(TRUE, pred)
    assert accuracy == 1.0
    np.testing.assert_array_equal(mapping, [0, -1, 1, 2])


def test_true_classes_need_not_be_consecutive():
    true = np.array([5, 5, 9, 9])
    accuracy, mapping = matched_accuracy(true, [1, 1, 0, 0])
    assert accuracy == 1.0
    np.testing.assert_array_equal(mapping, [9, 5])


def test_matched_accuracy_rejects_non_integer_and_mismatched_labels():
    with pytest.raises(ValueError, match="non-negative integers"):
        matched_accuracy(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="non-negative integers"):
        matched_accuracy([0, 1], [-1, 0])
    with pytest.raises(ValueError, match="differ in length"):
        matched_accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        matched_accuracy([], [])


def test_score_labels_accepts_named_classes():
    true = np.array(["setosa"] * 3 + ["virginica"] * 3)
    scores = score_labels(true, [1, 1, 1, 0, 0, 0])
    assert scores == LabelScores(ari=1.0, nmi=pytest.approx(1.0), accuracy=1.0)


def test_align_labels_gives_the_permutation_onto_the_reference():
    reference = np.array([0, 0, 1, 1, 2, 2, 2])
    labels = np.array([2, 2, 0, 0, 1, 1, 0])
    permutation = align_labels(reference, labels, 3)
    np.testing.assert_array_equal(np.sort(permutation), [0, 1, 2])
    np.testing.assert_array_equal(permutation, [1, 2, 0])
    assert np.mean(permutation[labels] == reference) == pytest.approx(6 / 7)


def test_align_labels_is_a_full_permutation_when_labels_use_fewer_values():
    reference = np.array([0, 1, 2, 3])
    labels = np.array([3, 3, 3, 3])
    permutation = align_labels(reference, labels, 4)
    np.testing.assert_array_equal(np.sort(permutation), [0, 1, 2, 3])


def test_align_labels_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        align_labels([0, 1], [0, 2], 2)


def test_kmeans_baseline_recovers_separated_clusters():
    data = make_scenario("separated-2d", n=300, seed=0)
    labels = kmeans_baseline(data.X, 3, seed=0)
    assert labels.shape == (300,)
    assert set(np.unique(labels)) == {0, 1, 2}
    assert matched_accuracy(data.labels, labels)[0] > 0.95
    np.testing.assert_array_equal(labels, kmeans_baseline(data.X, 3, seed=0))


def test_compare_with_kmeans_scores_both():
    data = make_scenario("separated-2d", n=300, seed=0)
    scores, kmeans = compare_with_kmeans(data.X, data.labels, data.labels, 3)
    assert set(scores) == {"mixture", "k-means"}
    assert scores["mixture"] == LabelScores(ari=1.0, nmi=pytest.approx(1.0), accuracy=1.0)
    assert 0.8 < scores["k-means"].ari <= 1.0
    # k-means' labels are renumbered onto the mixture's: on separated data they agree.
    assert np.mean(kmeans == data.labels) > 0.9
    no_truth, _ = compare_with_kmeans(data.X, None, data.labels, 3)
    assert no_truth == {}
