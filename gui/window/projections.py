"""What the 2-D and 3-D views are shown: the chosen features, the principal components,
the mixture's discriminant directions, or (2-D) the grand tour.

The views stay as they are: each is wrapped in a :class:`ProjectedView`, which the
frame drawer draws into as if it were the view, and which hands the view the
projected points and the exact images of the components (``A mu``, ``A Sigma A^T``
from ``engine.geometry.projections``).  The mathematics is the engine's; this
module only chooses the map and, for the tour, moves it at screen rate on the GUI
thread (a frame costs one (m, d) x (d, 2) product and the view's update).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QToolButton, QWidget

from engine.geometry.projections import (
    Projection,
    discriminant_directions,
    geodesic_frames,
    loading_label,
    principal_directions,
    random_frame,
    tour_steps,
)

FEATURES, PRINCIPAL, DISCRIMINANT = "features", "principal", "discriminant"
MODES = (
    (FEATURES, "Features", "The chosen features, as they are"),
    (PRINCIPAL, "Principal components",
     "The principal components of the standardised features (of the displayed rows); "
     "the axis labels give each component's largest loadings"),
    (DISCRIMINANT, "Discriminant directions",
     "The directions along which the fitted components' means and covariances differ "
     "most (mclust's MclustDR, Scrucca 2010), of the current model; the axis labels give "
     "each direction's largest loadings"),
)
# Loadings named on an axis: the 2-D view's labels, the 3-D view's (less room); the
# status bar names more when a projection is chosen.
LABEL_TERMS = (2, 1)
STATUS_TERMS = 4
TOUR_INTERVAL_MS = 33  # ~30 frames a second
TOUR_STEP = 0.02  # radians the plane turns per frame: a turn of 90 degrees in ~2.6 s


def projected_rows(projection: Projection, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The display rows of X projected, in an (n, p) array the views index by row.

    X : ndarray of shape (n, d); rows : ndarray of shape (m,)

    Only ``rows`` are computed; the others are zeros the views never read (np.zeros
    of a large array costs no memory until written).
    """
    out = np.zeros((X.shape[0], projection.matrix.shape[0]))
    out[rows] = projection.points(X[rows])
    return out


class ProjectedView:
    """A 2-D or 3-D view seen through a projection (None: the features themselves).

    It takes the calls the frame drawer makes (``set_data``, ``show_model``, the live
    rows) and keeps their arguments, so that a new projection re-places the points
    and redraws the model without the drawer; everything else goes to the view.
    """

    def __init__(self, view, n_axes: int, new_data=None, short_names: bool = False):
        self.view = view
        self.n_axes = n_axes
        self.short_names = short_names  # the 3-D view's labels have less room
        self.projection: Projection | None = None
        self._new_data = new_data  # called with the X of new data (the map no longer fits)
        self._data = None  # (X (n, d), names, display rows (m,), true labels)
        self._model = None  # (means (K, d), covariances (K, d, d), args, kwargs)
        self._prepared = self._live = None

    def __getattr__(self, name):
        return getattr(self.view, name)

    # ------------------------------------------------------------------ the drawer's calls
    def set_data(self, X, feature_names, display_rows, true_labels=None) -> None:
        new = self._data is None or X is not self._data[0]
        if new:
            self.projection = None
        self._data = (X, list(feature_names), np.asarray(display_rows, dtype=np.intp),
                      true_labels)
        self._model = None
        self._prepared = self._live = None
        self._place()
        if new and self._new_data is not None:
            self._new_data(X)

    def show_model(self, means, covariances, *args, **kwargs) -> None:
        self._model = (np.asarray(means), np.asarray(covariances), args, kwargs)
        self._show_model()

    def prepare_live_rows(self, live) -> None:
        self._prepared = live
        self.view.prepare_live_rows(live)

    def set_live_rows(self, live) -> None:
        self._live = live
        self.view.set_live_rows(live)

    # ------------------------------------------------------------------ the projection
    def set_projection(self, projection: Projection | None) -> None:
        """Show the data through ``projection`` (its first ``n_axes`` directions)."""
        if projection is not None:
            projection = projection.first(self.n_axes)
            projection = projection.short() if self.short_names else projection
        self.projection = projection
        if self._data is None:
            return
        self._place()
        self.view.prepare_live_rows(self._prepared)
        self.view.set_live_rows(self._live)
        self._show_model()

    def move_to(self, projection: Projection) -> None:
        """Move the points and the model to another map of the same kind (the tour's
        frames): no re-placing, the view range stays."""
        self.projection = projection
        X, _, rows, _ = self._data
        self.view.move_points(projection.points(X[rows]))
        self._show_model()

    def _place(self) -> None:
        X, names, rows, labels = self._data
        if self.projection is not None:
            X, names = projected_rows(self.projection, X, rows), list(self.projection.names)
        self.view.set_data(X, names, rows, labels)

    def _show_model(self) -> None:
        if self._model is None:
            return
        means, covariances, args, kwargs = self._model
        if self.projection is not None:
            means = self.projection.means(means)
            covariances = self.projection.covariances(covariances)
        self.view.show_model(means, covariances, *args, **kwargs)


def principal_projection(X: np.ndarray, names) -> Projection:
    """PC1, PC2, ... of the standardised features of X (n, d), labelled by loadings."""
    directions, variances = principal_directions(X, scale=True)
    share = variances / max(variances.sum(), 1e-300)
    sd = X.std(axis=0, ddof=1)
    sd[~(sd > 0)] = 1.0
    # Loadings on the standardised features: comparable whatever the units.
    labels, short = (tuple(loading_label(f"PC{j + 1} ({100 * share[j]:.0f} %)",
                                         directions[:, j] * sd, names, n_terms)
                           for j in range(directions.shape[1])) for n_terms in LABEL_TERMS)
    return Projection(directions.T, X.mean(axis=0), labels, short)


def discriminant_projection(X: np.ndarray, names, mixture) -> Projection:
    """The mixture's discriminant directions (MclustDR, lambda = 0.5) over X (n, d)."""
    directions, _ = discriminant_directions(X, mixture.weights, mixture.means,
                                            mixture.full_covariances(), lam=0.5)
    sd = X.std(axis=0, ddof=1)
    sd[~(sd > 0)] = 1.0
    # mclust's std.basis: loadings on standardised features, so units do not decide.
    labels, short = (tuple(loading_label(f"Dir{j + 1}", directions[:, j] * sd, names, n_terms)
                           for j in range(directions.shape[1])) for n_terms in LABEL_TERMS)
    return Projection(directions.T, X.mean(axis=0), labels, short)


def tour_projection(frame: np.ndarray, centre: np.ndarray, sd: np.ndarray) -> Projection:
    """The tour's 2-frame (d, 2) of the standardised features as a map of the data."""
    return Projection((frame / sd[:, None]).T, centre, ("tour axis 1", "tour axis 2"))


class ProjectionController(QObject):
    """The projection choice and the Tour button (``bar``: a widget the window places
    beside the 2-D view's tabs)."""

    status = Signal(str)
    error = Signal(str, str)
    modeChanged = Signal(str)

    def __init__(self, session, drawer, plane: ProjectedView, space: ProjectedView,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.drawer = session, drawer
        self.plane, self.space = plane, space
        self.mode = FEATURES
        self.combo = QComboBox()
        for i, (_, text, tip) in enumerate(MODES):
            self.combo.addItem(text)
            self.combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("What the 2-D and 3-D views show: chosen features, principal "
                              "components or the mixture's discriminant directions "
                              "(for 3 or more features)")
        self.combo.activated.connect(lambda index: self.set_mode(MODES[index][0]))
        self.tour_button = QToolButton()
        self.tour_button.setText("Tour")
        self.tour_button.setCheckable(True)
        self.tour_button.setToolTip("Animate the 2-D view between random projections of the "
                                    "standardised features (the grand tour); the ellipses "
                                    "are exact at every frame. Click again to stop.")
        self.tour_button.toggled.connect(self._tour_toggled)
        self.bar = QWidget()
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 4, 0)
        row.addWidget(self.combo)
        row.addWidget(self.tour_button)
        self.timer = QTimer(self)
        self.timer.setInterval(TOUR_INTERVAL_MS)
        self.timer.timeout.connect(self._tour_frame)
        self._rng = np.random.default_rng()
        self._path = None  # (frame(t), end, steps) of the current leg
        self._t = 0
        self._standard = None  # (centre (d,), sd (d,)) of the displayed rows
        session.modelChanged.connect(self._model_changed)
        self._enable(False)

    # ------------------------------------------------------------------ the choice
    def _enable(self, enabled: bool) -> None:
        for widget in (self.combo, self.tour_button):
            widget.setEnabled(enabled)

    def new_data(self, X: np.ndarray) -> None:
        """New data (the views already show its features): back to the features."""
        self._halt_tour()
        self.mode = FEATURES
        self.combo.setCurrentIndex(0)
        self._enable(X.shape[1] >= 3)

    def set_mode(self, mode: str) -> bool:
        """Show the features, the principal components or the discriminant directions;
        False (and a message) when that cannot be shown now."""
        self._halt_tour()
        projection = None
        if mode != FEATURES:
            data = self.session.data
            if data is None or data.n_features < 3:
                return self._refuse("Projections need 3 or more features")
            X, names = self.session.shown_X(), list(data.feature_names)
            if mode == PRINCIPAL:
                projection = principal_projection(X, names)
            else:
                mixture = self._mixture()
                if mixture is None:
                    return self._refuse("The discriminant directions are the fitted "
                                        "components': fit a model first")
                projection = discriminant_projection(X, names, mixture)
        self.mode = mode
        self.combo.setCurrentIndex([m for m, _, _ in MODES].index(mode))
        self.plane.set_projection(projection)
        self.space.set_projection(projection)
        if projection is not None:
            self.status.emit(self._described(projection, X, names))
        self.modeChanged.emit(mode)
        return True

    @staticmethod
    def _described(projection: Projection, X: np.ndarray, names) -> str:
        """The first two directions with more of their loadings, for the status bar."""
        sd = X.std(axis=0, ddof=1)
        sd[~(sd > 0)] = 1.0
        return "; ".join(
            loading_label(projection.names[j].split(" = ")[0], projection.matrix[j] * sd,
                          names, STATUS_TERMS) for j in range(2))

    def projection(self) -> Projection | None:
        return self.plane.projection

    def _mixture(self):
        model = self.session.model
        if model is not None and model.mixture is not None:
            return model.mixture
        return self.drawer.drawn.mixture

    def _refuse(self, message: str) -> bool:
        self.combo.setCurrentIndex([m for m, _, _ in MODES].index(self.mode))
        self.status.emit(message)
        return False

    def _model_changed(self, model) -> None:
        # The directions are the model's: a new model, new directions (not per EM
        # frame, which would shake the points; the ellipses follow EM exactly).
        if self.mode == DISCRIMINANT and model is not None and not self.touring:
            self.set_mode(DISCRIMINANT)

    # ------------------------------------------------------------------ the tour
    @property
    def touring(self) -> bool:
        return self.timer.isActive()

    def start_tour(self) -> None:
        self.tour_button.setChecked(True)

    def stop_tour(self) -> None:
        """Stop the tour and show the chosen projection again."""
        self.tour_button.setChecked(False)

    def _halt_tour(self) -> None:
        """Stop the tour without redrawing (a new projection or new data follows)."""
        self.timer.stop()
        self._path = None
        self.tour_button.blockSignals(True)
        self.tour_button.setChecked(False)
        self.tour_button.blockSignals(False)

    def _tour_toggled(self, on: bool) -> None:
        if not on:
            if self.timer.isActive():
                self.timer.stop()
                self._path = None
                self.set_mode(self.mode)  # back to the chosen view
            return
        data = self.session.data
        if data is None or data.n_features < 3:
            self.tour_button.setChecked(False)
            return
        X = self.session.shown_X()
        centre, sd = X.mean(axis=0), X.std(axis=0, ddof=1)
        sd[~(sd > 0)] = 1.0
        self._standard = (centre, sd)
        start = random_frame(X.shape[1], self._rng)
        self.plane.set_projection(tour_projection(start, centre, sd))
        # A fixed square range that holds every projection of the standardised rows.
        reach = float(np.sqrt((((X - centre) / sd) ** 2).sum(axis=1)).max()) or 1.0
        self.plane.view.plot.setRange(xRange=(-reach, reach), yRange=(-reach, reach),
                                      padding=0.02)
        self._new_leg(start)
        self.timer.start()
        self.status.emit("Touring: random projections of the standardised features; "
                         "click Tour again to stop")

    def _new_leg(self, start: np.ndarray) -> None:
        target = random_frame(start.shape[0], self._rng)
        frame, end, angle = geodesic_frames(start, target)
        self._path = (frame, end, tour_steps(angle, TOUR_STEP))
        self._t = 0

    def tour_frame_matrix(self) -> np.ndarray | None:
        """The tour's current 2-frame (d, 2), or None when not touring."""
        if self._path is None:
            return None
        frame, _, steps = self._path
        return frame(self._t / steps)

    def _tour_frame(self) -> None:
        """One step along the geodesic, drawn at once; the next frame waits at least as
        long as this one took (the event loop keeps half its time on big data, where
        the tour then turns more slowly)."""
        if self._path is None or self.session.data is None:
            return
        started = time.perf_counter()
        frame, end, steps = self._path
        self._t += 1
        current = end if self._t >= steps else frame(self._t / steps)
        self.plane.move_to(tour_projection(current, *self._standard))
        self.plane.view.paint_now()
        if self._t >= steps:
            self._new_leg(end)
        cost_ms = 1000 * (time.perf_counter() - started)
        self.timer.setInterval(max(TOUR_INTERVAL_MS, round(2 * cost_ms)))
