"""Drawing the session: the screen-rate tick that draws only the newest snapshot
(coalescing), a streamed frame in pieces (one view per tick), seeking, the labels of
a frame whose labels the record no longer holds (computed off the GUI thread), and
the stepping lesson (each Step shows the M-step, then the E-step).

A snapshot holds the parameters after an M-step and the responsibilities the next
E-step computes under them.  Drawn at once, a Step would move the ellipses and
recolour the points in the same instant; when the user steps, the window first
draws the new ellipses over the previous colours (the M-step), then, a moment
later, the new colours (the E-step).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from gui.playback import Frame, changed_components, mean_shifts
from gui.window.session import Session

FRAME_INTERVAL_MS = 16  # ~60 Hz
# The convergence plot and the playback bar while EM streams: a re-ranged plot costs
# more than the 2-D and 3-D frames together, and a curve of log-likelihoods over
# iterations reads as well at 4 Hz.
LIVE_CURVES_INTERVAL_S = 0.25
MAX_MESSAGES = 8
KMEANS_CAPTION = "colours: k-means clusters (3-D view: the mixture)"
STEP_PHASE_MS = 600  # how long the M-step stays on screen before the E-step's colours


class Drawn(NamedTuple):
    """What the views show: the mixture, the 2-D view's labels, the 3-D view's labels."""

    mixture: object
    labels2d: np.ndarray | None
    labels3d: np.ndarray | None


def labels_of(mixture, X_shown: np.ndarray):
    """Hard labels and their responsibility for the displayed rows (worker thread)."""
    resp = mixture.predict_proba(X_shown)
    return resp.argmax(axis=1).astype(np.int16), resp.max(axis=1).astype(np.float32)


class FrameDrawer(QObject):
    """Draws the session's frames into the views; the window owns one."""

    status = Signal(str)  # a line for the status bar
    stepPhase = Signal(str, int)  # ("M-step" | "E-step", frame index) of a stepped frame shown

    def __init__(self, session: Session, pool, plot2d, plot3d, convergence, playback_bar,
                 parent: QObject | None = None, pairs=None):
        super().__init__(parent)
        self.session, self.pool = session, pool
        self.plot2d, self.plot3d = plot2d, plot3d
        self.pairs = pairs  # the Pairs view (draws only while visible), or None
        self.convergence, self.playback_bar = convergence, playback_bar
        self.drawn = Drawn(None, None, None)
        self.streaming = False  # EM runs and is not paused: draw the live subset in pieces
        self.kmeans_in_2d = False  # the 2-D view shows the model's k-means labels when known
        self.phase: tuple[str, int] | None = None  # the stepped frame's phase last shown
        self._stepped: int | None = None  # index of a stepped frame still to be shown
        self._dirty = False
        self._quiet_until = 0.0
        self._stages: list = []  # the rest of a live frame, one view per tick
        self._curves_drawn_at = 0.0
        self._labels_job = None
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.timeout.connect(self._on_frame)
        self.phase_timer = QTimer(self)
        self.phase_timer.setSingleShot(True)
        self.phase_timer.setInterval(STEP_PHASE_MS)
        self.phase_timer.timeout.connect(self._show_e_step)
        session.displayRowsChanged.connect(self._place_rows)
        session.recordCleared.connect(self._record_cleared)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.phase_timer.stop()

    # ------------------------------------------------------------------ the session's rows
    def _place_rows(self, display_rows, live_rows) -> None:
        data = self.session.data
        for view in self._placed_views():
            view.set_data(data.X, list(data.feature_names), display_rows, data.labels)
        # One feature has no 3-D picture (two have the density surface): the 2-D view
        # takes its room.
        self.plot3d.setVisible(data.n_features >= 2)
        self.plot2d.set_class_names(class_legend(data) if data.labels is not None else None)
        self._stages = []
        self._set_live(False)
        for view in (self.plot2d, self.plot3d):
            view.prepare_live_rows(live_rows)  # placed now: a fit's start only shows them

    def _placed_views(self) -> list:
        return [self.plot2d, self.plot3d, *([self.pairs] if self.pairs is not None else [])]

    def _record_cleared(self) -> None:
        self.phase_timer.stop()
        self._stepped = self.phase = None
        self.playback_bar.set_length(0, 0, None)

    # ------------------------------------------------------------------ the tick
    def frame_added(self, frame: Frame, stepped: bool = False) -> None:
        """A snapshot was recorded: draw it at the next tick (``stepped``: in two phases)."""
        if stepped:
            self._stepped = frame.index if frame.index >= 1 else None
        self._dirty = True

    def _on_frame(self) -> None:
        """The screen-rate tick: draw the newest snapshot only if one arrived (coalescing).

        While EM streams a frame is drawn one view per tick (2-D, 3-D, then, at
        most every ``LIVE_CURVES_INTERVAL_S``, the convergence plot), each view
        painted at once (``paint_now``) so that its real cost is measured, and the
        views show a fixed subset of at most ``LIVE_DISPLAY_BUDGET`` of the display
        rows (a second scatter item, shown instead of the full one).  A piece that costs
        t ms is followed by at least t ms without drawing, so that with large data no
        event-loop turn blocks long and the loop keeps half its time for the user.
        """
        if time.perf_counter() < self._quiet_until:
            return
        if self._stages:
            self._paced(self._stages.pop(0))
            return
        if not self._dirty:
            return
        self._dirty = False
        playback = self.session.playback
        if playback.follow_live and len(playback):
            if self.streaming and playback.latest().index != self._stepped:
                self._set_live(True)
                self._stages = self._live_stages(playback.latest())
                self._paced(self._stages.pop(0))
                return
            self._set_live(False)
            self._paced(self._draw_latest)
        else:
            self._paced(self.update_bar)

    def _paced(self, work) -> None:
        started = time.perf_counter()
        work()
        finished = time.perf_counter()
        self._quiet_until = finished + (finished - started)

    def draw_now(self) -> None:
        """Draw the newest state of every view at once, in full (the fit ended or paused)."""
        self._stages = []
        self._quiet_until = 0.0
        self._dirty = True
        self._on_frame()

    def _set_live(self, live: bool) -> None:
        """Draw the live subset of the display rows (EM streaming) or all of them."""
        rows = self.session.live_rows if live else None
        if rows is None and self.plot2d.live_rows() is None:
            return
        self.plot2d.set_live_rows(rows)
        self.plot3d.set_live_rows(rows)

    def _live_stages(self, frame: Frame) -> list:
        """A streamed frame in pieces, one per tick, each painted at once (the
        convergence plot at most every ``LIVE_CURVES_INTERVAL_S``)."""
        if frame.has_labels:
            labels, confidence = frame.labels, frame.confidence
        else:
            labels, confidence = self.drawn.labels3d, None
        mixture = frame.mixture

        def covariances():
            return mixture.full_covariances() if frame.covariances is None else frame.covariances

        def plane():
            self.drawn = Drawn(mixture, labels, self.drawn.labels3d)
            if not self.plot2d.isVisible():  # behind the Pairs tab: the next frame once shown
                return
            self.plot2d.set_caption(None)
            self.plot2d.show_model(mixture.means, covariances(), labels, confidence,
                                   weights=mixture.weights)
            self.plot2d.paint_now()

        def space():
            if self.plot3d.isVisible():
                self.plot3d.show_model(mixture.means, covariances(), labels, confidence,
                                       weights=mixture.weights)
                self.plot3d.paint_now()
            self.drawn = Drawn(mixture, self.drawn.labels2d, labels)

        def curves():
            self._curves_drawn_at = time.perf_counter()
            self._show_curves(frame, converged_note=False)
            if self.convergence.isVisible():
                self.convergence.paint_now()

        def legend():
            # A first frame's legend entries cost as much as the frame: a tick of their own.
            self.plot2d.show_components(mixture.n_components)

        stages = [plane, space]
        if self.pairs is not None:  # a row of its panels per tick, while it is visible
            stages += self.pairs.live_stages(mixture.means, covariances(), labels, confidence,
                                             weights=mixture.weights)
        if self.plot2d.components_in_legend() != mixture.n_components:
            stages.insert(0, legend)
        if time.perf_counter() - self._curves_drawn_at >= LIVE_CURVES_INTERVAL_S:
            stages.append(curves)
        return stages

    # ------------------------------------------------------------------ frames
    def seek(self, index: int) -> None:
        """Show the recorded iteration at ``index`` in every view (the slider's path)."""
        playback = self.session.playback
        if len(playback) == 0:
            return
        self._stages = []
        self._set_live(False)
        self.draw_frame(playback.seek(index))

    def redraw_current(self) -> None:
        """Redraw after the display rows changed: every stored label is stale."""
        session = self.session
        frame = session.playback.current_frame()
        if frame is not None:
            self.draw_frame(frame)
        elif session.model is not None:
            self.redraw_model()
            self.compute_labels(session.model.mixture, None)

    def redraw_model(self) -> None:
        """Draw the current model with the best labels at hand."""
        session = self.session
        model = session.model
        if model is None:
            return
        frame = session.playback.current_frame()
        if frame is not None and frame.mixture is model.mixture:
            self.draw_frame(frame)
            return
        labels = confidence = None
        if session.model_labels is not None and session.model_labels[0] is model.mixture:
            _, labels, confidence = session.model_labels
        self.draw_mixture(model.mixture, labels, confidence)

    def draw_frame(self, frame: Frame, labels_from: Frame | None = None) -> None:
        """Every view at ``frame``; the points coloured as in ``labels_from`` if given
        (the M-step of a Step: new ellipses, the previous E-step's colours)."""
        if labels_from is not None:
            labels, confidence = labels_from.labels, labels_from.confidence
        elif frame.has_labels:
            labels, confidence = frame.labels, frame.confidence
        else:
            # Until the worker has them, the last labels drawn stand in (no grey flash).
            labels, confidence = self.drawn.labels3d, None
            self.compute_labels(frame.mixture, frame.index)
        self.draw_mixture(frame.mixture, labels, confidence, frame.covariances)
        self._show_curves(frame, converged_note=True)

    def _show_curves(self, frame: Frame, converged_note: bool) -> None:
        playback = self.session.playback
        iterations, values = playback.history()
        self.convergence.set_history(iterations, values)
        self.convergence.set_current(frame.iteration)
        messages = playback.messages(frame.index)[-MAX_MESSAGES:]
        if converged_note and frame.stop_reason == "converged":
            messages.append(f"iteration {frame.iteration}: converged")
        self.convergence.show_messages(messages)
        self.update_bar()

    def draw_mixture(self, mixture, labels, confidence, covariances=None) -> None:
        covariances = mixture.full_covariances() if covariances is None else covariances
        session = self.session
        labels2d, confidence2d = labels, confidence
        if (self.kmeans_in_2d and session.kmeans_labels is not None
                and session.model is not None and mixture is session.model.mixture):
            labels2d, confidence2d = session.kmeans_labels, None
            self.plot2d.set_caption(KMEANS_CAPTION)
        else:
            self.plot2d.set_caption(None)
        self.plot2d.show_model(mixture.means, covariances, labels2d, confidence2d,
                               weights=mixture.weights)
        self.plot3d.show_model(mixture.means, covariances, labels, confidence,
                               weights=mixture.weights)
        if self.pairs is not None:
            self.pairs.show_model(mixture.means, covariances, labels2d, confidence2d,
                                  weights=mixture.weights)
        self.drawn = Drawn(mixture, labels2d, labels)

    def update_bar(self) -> None:
        playback = self.session.playback
        frame = playback.current_frame()
        self.playback_bar.set_length(len(playback), playback.current,
                                     None if frame is None else frame.iteration)

    # ------------------------------------------------------------------ labels off the GUI thread
    def compute_labels(self, mixture, index: int | None) -> None:
        """Labels of the displayed rows off the GUI thread, then redraw if still current
        (``index``: of a recorded frame; None: of a sweep's candidate)."""
        if self._labels_job is not None and self._labels_job.running:
            self._labels_job.cancel()
        record, shown = self.session.record, self.session.shown_X()
        self._labels_job = self.pool.run_in_thread(
            labels_of, mixture, shown,
            on_done=lambda result: self._labels_ready(record, index, mixture, result),
            on_error=lambda message: self.status.emit(f"Could not label the points: {message}"),
        )

    def _labels_ready(self, record: int, index: int | None, mixture, result) -> None:
        session = self.session
        if record != session.record:
            return
        labels, confidence = result
        if index is None:  # a candidate of the sweep
            session.model_labels = (mixture, labels, confidence)
            if session.model is not None and session.model.mixture is mixture:
                self.redraw_model()
            return
        frame = session.playback.store_labels(index, labels, confidence)
        if session.playback.current == index:
            self.draw_frame(frame)

    # ------------------------------------------------------------------ the stepping lesson
    def _draw_latest(self) -> None:
        """The tick's drawing of the newest frame: in two phases if it was stepped."""
        playback = self.session.playback
        frame = playback.latest()
        if frame.index != self._stepped:
            self.draw_frame(frame)
            return
        self._stepped = None
        previous = playback[frame.index - 1]
        if not previous.has_labels:  # evicted: nothing to show the M-step over
            self.draw_frame(frame)
            return
        self.draw_frame(frame, labels_from=previous)
        self._show_phase("M-step", frame.index)
        shifts = mean_shifts(previous, frame)
        farthest = int(np.argmax(shifts))
        self.status.emit(f"Iteration {frame.iteration}, M-step: the ellipses moved to the "
                         "responsibility-weighted means and covariances of the colours "
                         f"shown; the means moved by {shifts.mean():.3g} on average, "
                         f"component {farthest + 1} the most ({shifts[farthest]:.3g})")
        self.phase_timer.start()

    def _show_e_step(self) -> None:
        if self.phase is None:
            return
        index = self.phase[1]
        playback = self.session.playback
        if playback.current != index or index >= len(playback):
            return  # the user has moved on (another step, a seek, new data)
        frame = playback[index]
        self.draw_frame(frame)
        self._show_phase("E-step", index)
        after = {"converged": "EM has converged.", "max_iter": "max_iter reached."}.get(
            frame.stop_reason, "Step (F10) again, or Resume (Space).")
        changed = changed_components(playback[index - 1], frame)
        moved = "" if changed is None else (
            f"{changed:,} of {len(frame.labels):,} points shown changed component; ")
        self.status.emit(f"Iteration {frame.iteration}, E-step: the points took their "
                         f"responsibilities under the new ellipses; {moved}mean "
                         f"log-likelihood {frame.log_likelihood:.6g}. {after}")

    def _show_phase(self, phase: str, index: int) -> None:
        self.phase = (phase, index)
        self.stepPhase.emit(phase, index)


def class_legend(data) -> list[str]:
    """Class names for the legend: a bare "2" beside "component 2" says nothing."""
    names = list(data.class_names)
    try:
        [float(name) for name in names]
    except ValueError:
        return names
    return [f"{data.label_column or 'class'} {name}" for name in names]
