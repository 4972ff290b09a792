"""The record of a fit, one frame per EM snapshot, and the timeline over it.

Parameters are kept for every iteration (K means and K d x d covariances are
small); the labels of the displayed rows are kept while they fit a memory
budget, oldest dropped first (never those of iteration 0 or of the newest
frame).  A frame whose labels were dropped still draws its ellipses at once;
the window recomputes its labels off the GUI thread from ``frame.mixture``.

The timeline is a current index plus a follow-live flag: while following, the
current frame is always the newest one; moving the slider away stops following,
moving it back to the end resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.em.loop import Snapshot
from engine.model.mixture import Mixture
from engine.selection.candidate import Candidate

DEFAULT_LABEL_BUDGET = 256 * 1024 * 1024  # bytes of display labels + confidences


@dataclass(frozen=True, eq=False)
class Frame:
    """One recorded EM iteration.

    labels : ndarray (m,) int16 or None (dropped, recompute from ``mixture``)
    confidence : ndarray (m,) float32 or None
    events : tuple of str, what the engine reported at this iteration
    """

    index: int
    iteration: int
    mixture: Mixture
    covariances: np.ndarray
    log_likelihood: float
    converged: bool
    stop_reason: str | None
    events: tuple
    criteria: dict
    labels: np.ndarray | None = None
    confidence: np.ndarray | None = None

    @property
    def means(self) -> np.ndarray:
        return self.mixture.means

    @property
    def weights(self) -> np.ndarray:
        return self.mixture.weights

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def with_labels(self, labels, confidence) -> Frame:
        return Frame(
            self.index, self.iteration, self.mixture, self.covariances, self.log_likelihood,
            self.converged, self.stop_reason, self.events, self.criteria, labels, confidence,
        )


class Playback:
    """Every snapshot of the current fit, and where the timeline stands."""

    def __init__(self, label_budget: int = DEFAULT_LABEL_BUDGET):
        self.label_budget = int(label_budget)
        self.clear()

    def clear(self) -> None:
        self._frames: list[Frame] = []
        self._iterations: list[int] = []
        self._log_likelihoods: list[float] = []
        self._events: list[tuple[int, str]] = []
        self._label_bytes = 0
        self._oldest_labelled = 1  # frames before this index (except 0) have no labels
        self.current = -1
        self.follow_live = True

    # ------------------------------------------------------------------ record
    def append(self, snap: Snapshot) -> Frame:
        labels = snap.display_labels
        confidence = snap.display_confidence
        frame = Frame(
            index=len(self._frames),
            iteration=snap.iteration,
            mixture=snap.mixture,
            covariances=snap.covariances,
            log_likelihood=float(snap.log_likelihood),
            converged=bool(snap.converged),
            stop_reason=snap.stop_reason,
            events=tuple(snap.events),
            criteria=snap.criteria(),
            labels=labels,
            confidence=confidence,
        )
        self._frames.append(frame)
        self._iterations.append(frame.iteration)
        self._log_likelihoods.append(frame.log_likelihood)
        self._events.extend((frame.iteration, text) for text in frame.events)
        self._label_bytes += _nbytes(labels, confidence)
        self._evict()
        if self.follow_live:
            self.current = frame.index
        return frame

    def _evict(self) -> None:
        newest = len(self._frames) - 1
        while self._label_bytes > self.label_budget and self._oldest_labelled < newest:
            i = self._oldest_labelled
            old = self._frames[i]
            self._label_bytes -= _nbytes(old.labels, old.confidence)
            self._frames[i] = old.with_labels(None, None)
            self._oldest_labelled += 1

    def store_labels(self, index: int, labels: np.ndarray, confidence: np.ndarray) -> Frame:
        """Labels recomputed for a frame: kept only when within the budget."""
        frame = self._frames[index].with_labels(labels, confidence)
        if not self._frames[index].has_labels:
            size = _nbytes(labels, confidence)
            if self._label_bytes + size <= self.label_budget:
                self._frames[index] = frame
                self._label_bytes += size
        return frame

    def drop_labels(self) -> None:
        """Forget every frame's labels (the display rows changed)."""
        self._frames = [f.with_labels(None, None) for f in self._frames]
        self._label_bytes = 0
        self._oldest_labelled = len(self._frames)

    # ------------------------------------------------------------------ read
    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index: int) -> Frame:
        return self._frames[index]

    def __iter__(self):
        return iter(self._frames)

    def latest(self) -> Frame | None:
        return self._frames[-1] if self._frames else None

    def history(self, upto: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, mean log-likelihoods) of frames 0..upto (all by default)."""
        stop = len(self._frames) if upto is None else upto + 1
        return (
            np.asarray(self._iterations[:stop], dtype=np.int64),
            np.asarray(self._log_likelihoods[:stop], dtype=np.float64),
        )

    def messages(self, upto: int | None = None) -> list[str]:
        """The engine's events up to frame ``upto``, each prefixed by its iteration."""
        last = self._frames[upto].iteration if upto is not None and self._frames else None
        return [
            f"iteration {it}: {text}" for it, text in self._events if last is None or it <= last
        ]

    @property
    def label_bytes(self) -> int:
        return self._label_bytes

    # ------------------------------------------------------------------ timeline
    def seek(self, index: int) -> Frame:
        """Make frame ``index`` current (clamped); following resumes at the newest frame."""
        if not self._frames:
            raise IndexError("the record is empty")
        index = max(0, min(int(index), len(self._frames) - 1))
        self.current = index
        self.follow_live = index == len(self._frames) - 1
        return self._frames[index]

    def current_frame(self) -> Frame | None:
        if not self._frames or self.current < 0:
            return None
        return self._frames[self.current]


def _nbytes(*arrays) -> int:
    return sum(a.nbytes for a in arrays if a is not None)


def model_from_frame(frame: Frame, stopped: bool = False) -> Candidate:
    """A recorded iteration as a model the exports and the selection table understand."""
    c = frame.criteria
    if frame.converged:
        status, reason = "ok", ""
    else:
        status = "not converged"
        reason = (f"stopped by the user at iteration {frame.iteration}" if stopped
                  else " ".join(frame.events) or f"stopped at iteration {frame.iteration}")
    mixture = frame.mixture
    return Candidate(
        n_components=mixture.n_components, covariance_type=mixture.covariance_type,
        log_likelihood=c["log_likelihood"], n_parameters=c["n_parameters"], bic=c["bic"],
        aic=c["aic"], icl=c["icl"], converged=frame.converged, n_iter=frame.iteration,
        status=status, reason=reason, mixture=mixture,
    )


def mean_shifts(previous: Frame, frame: Frame) -> np.ndarray:
    """(K,): how far each component's mean moved between two frames (data units)."""
    return np.linalg.norm(frame.means - previous.means, axis=1)


def changed_components(previous: Frame, frame: Frame) -> int | None:
    """How many displayed points changed component between two frames (None when
    either frame's labels were dropped)."""
    if not (previous.has_labels and frame.has_labels):
        return None
    return int(np.count_nonzero(previous.labels != frame.labels))
