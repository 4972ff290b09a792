"""Drawing the session: the screen-rate tick that draws only the newest snapshot
(coalescing), a streamed frame in pieces (one view per tick), seeking, and the
labels of a frame whose labels the record no longer holds (computed off the GUI
thread).

A mixin of :class:`gui.main_window.MainWindow` (it uses the window's playback,
views and pool); kept apart because it is one seam of the window's work.
"""

from __future__ import annotations

import time

import numpy as np

from gui.playback import Frame

FRAME_INTERVAL_MS = 16  # ~60 Hz
# The convergence plot and the playback bar while EM streams: a re-ranged plot costs
# more than the 2-D and 3-D frames together, and a curve of log-likelihoods over
# iterations reads as well at 4 Hz.
LIVE_CURVES_INTERVAL_S = 0.25
MAX_MESSAGES = 8
KMEANS_CAPTION = "colours: k-means clusters (3-D view: the mixture)"


def _labels_of(mixture, X_shown: np.ndarray):
    """Hard labels and their responsibility for the displayed rows (worker thread)."""
    resp = mixture.predict_proba(X_shown)
    return resp.argmax(axis=1).astype(np.int16), resp.max(axis=1).astype(np.float32)


class DrawingMixin:
    """Draws frames; needs the attributes MainWindow sets."""

    def _on_frame(self) -> None:
        """The screen-rate tick: draw the newest snapshot only if one arrived (coalescing).

        While EM streams a frame is drawn one view per tick (2-D, 3-D, then, at
        most every ``LIVE_CURVES_INTERVAL_S``, the convergence plot), each view
        painted at once (``paint_now``) so that its real cost is measured, and the
        views show a fixed subset of at most ``LIVE_DISPLAY_BUDGET`` of the display
        rows (a second scatter item, shown instead of the full one).  A piece that costs t ms is
        followed by at least t ms without drawing, so that with large data no
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
        if self.playback.follow_live and len(self.playback):
            if self._streaming() and self.playback.latest().index != self._phase_frame:
                self._set_live(True)
                self._stages = self._live_stages(self.playback.latest())
                self._paced(self._stages.pop(0))
                return
            self._set_live(False)
            self._paced(self._draw_latest)
        else:
            self._paced(self._update_bar)

    def _paced(self, work) -> None:
        started = time.perf_counter()
        work()
        finished = time.perf_counter()
        self._quiet_until = finished + (finished - started)

    def draw_now(self) -> None:
        """Draw the newest state of every view at once, in full (the fit ended)."""
        self._stages = []
        self._quiet_until = 0.0
        self._dirty = True
        self._on_frame()

    def _streaming(self) -> bool:
        return self.fitting and not self.fit_panel.paused

    def _set_live(self, live: bool) -> None:
        """Draw the live subset of the display rows (EM streaming) or all of them."""
        rows = self._live_rows if live else None
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
            labels, confidence = self.drawn[2], None
        mixture = frame.mixture

        def plane():
            self.plot2d.set_caption(None)
            covariances = (mixture.full_covariances() if frame.covariances is None
                           else frame.covariances)
            self.plot2d.show_model(mixture.means, covariances, labels, confidence,
                                   weights=mixture.weights)
            self.drawn = (mixture, labels, self.drawn[2])
            self.plot2d.paint_now()

        def space():
            if self.plot3d.isVisible():
                covariances = (mixture.full_covariances() if frame.covariances is None
                               else frame.covariances)
                self.plot3d.show_model(mixture.means, covariances, labels, confidence)
                self.plot3d.paint_now()
            self.drawn = (mixture, self.drawn[1], labels)

        def curves():
            self._curves_drawn_at = time.perf_counter()
            iterations, values = self.playback.history()
            self.convergence.set_history(iterations, values)
            self.convergence.set_current(frame.iteration)
            messages = self.playback.messages(frame.index)[-MAX_MESSAGES:]
            self.convergence.show_messages(messages)
            self._update_bar()
            if self.convergence.isVisible():
                self.convergence.paint_now()

        def legend():
            # A first frame's legend entries cost as much as the frame: a tick of their own.
            self.plot2d.show_components(mixture.n_components)

        stages = [plane, space]
        if self.plot2d.components_in_legend() != mixture.n_components:
            stages.insert(0, legend)
        if time.perf_counter() - self._curves_drawn_at >= LIVE_CURVES_INTERVAL_S:
            stages.append(curves)
        return stages

    def seek(self, index: int) -> None:
        """Show the recorded iteration at ``index`` in every view (the slider's path)."""
        if len(self.playback) == 0:
            return
        self._stages = []
        self._set_live(False)
        self._draw_frame(self.playback.seek(index))

    def _redraw_current(self) -> None:
        """Redraw after the display rows changed: every stored label is stale."""
        self._model_labels = self._kmeans_labels = None
        frame = self.playback.current_frame()
        if frame is not None:
            self._draw_frame(frame)
        elif self.model is not None:
            self._redraw_model()
            self._compute_labels(self.model.mixture, None)
        self._evaluate_model()

    def _draw_frame(self, frame: Frame, labels_from: Frame | None = None) -> None:
        """Every view at ``frame``; the points coloured as in ``labels_from`` if given
        (the M-step of a Step: new ellipses, the previous E-step's colours)."""
        if labels_from is not None:
            labels, confidence = labels_from.labels, labels_from.confidence
        elif frame.has_labels:
            labels, confidence = frame.labels, frame.confidence
        else:
            # Until the worker has them, the last labels drawn stand in (no grey flash).
            labels, confidence = self.drawn[2], None
            self._compute_labels(frame.mixture, frame.index)
        self._draw_mixture(frame.mixture, labels, confidence, frame.covariances)
        iterations, values = self.playback.history()
        self.convergence.set_history(iterations, values)
        self.convergence.set_current(frame.iteration)
        messages = self.playback.messages(frame.index)[-MAX_MESSAGES:]
        if frame.stop_reason == "converged":
            messages.append(f"iteration {frame.iteration}: converged")
        self.convergence.show_messages(messages)
        self._update_bar()

    def _draw_mixture(self, mixture, labels, confidence, covariances=None) -> None:
        covariances = mixture.full_covariances() if covariances is None else covariances
        labels2d = labels
        if (self.compare_panel.enabled and self._kmeans_labels is not None
                and self.model is not None and mixture is self.model.mixture):
            labels2d, confidence2d = self._kmeans_labels, None
            self.plot2d.set_caption(KMEANS_CAPTION)
        else:
            confidence2d = confidence
            self.plot2d.set_caption(None)
        self.plot2d.show_model(mixture.means, covariances, labels2d, confidence2d,
                               weights=mixture.weights)
        self.plot3d.show_model(mixture.means, covariances, labels, confidence)
        self.drawn = (mixture, labels2d, labels)  # what the views show: a hook for tests

    def _update_bar(self) -> None:
        frame = self.playback.current_frame()
        self.playback_bar.set_length(len(self.playback), self.playback.current,
                                     None if frame is None else frame.iteration)

    def _compute_labels(self, mixture, index: int | None) -> None:
        """Labels of the displayed rows off the GUI thread, then redraw if still current."""
        if self._labels_job is not None and self._labels_job.running:
            self._labels_job.cancel()
        record, shown = self._record, self.data.X[self.display_rows]
        self._labels_job = self.pool.run_in_thread(
            _labels_of, mixture, shown,
            on_done=lambda result: self._labels_ready(record, index, mixture, result),
            on_error=lambda message: self.show_status(f"Could not label the points: {message}"),
        )

    def _labels_ready(self, record: int, index: int | None, mixture, result) -> None:
        if record != self._record:
            return
        labels, confidence = result
        if index is None:  # a candidate of the sweep
            self._model_labels = (mixture, labels, confidence)
            if self.model is not None and self.model.mixture is mixture:
                self._redraw_model()
            return
        frame = self.playback.store_labels(index, labels, confidence)
        if self.playback.current == index:
            self._draw_frame(frame)
