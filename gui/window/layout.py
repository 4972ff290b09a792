"""Where everything sits: panels on the left, the 2-D and 3-D views side by side
above the convergence, selection and Test K views, the playback bar under them, notes in
the status bar; and the menus and the toolbar."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.panels.data_panel import DataPanel
from gui.panels.fit_panel import FitPanel
from gui.panels.playback_bar import PlaybackBar
from gui.panels.selection_panel import ComparePanel, ModelSummary, SelectionPanel
from gui.views.bootstrap import BootstrapView
from gui.views.compare_starts import CompareStartsView
from gui.views.convergence import ConvergenceView
from gui.views.pairs import PairsView
from gui.views.plot2d import Plot2DView
from gui.views.plot3d import Plot3DView
from gui.views.selection import SelectionView


class PlaneTabs(QWidget):
    """The 2-D and Pairs views as tabs, with a corner for the projection choice.

    A tab bar over a stack, not a QTabWidget: its pane's margins made the 2-D view's
    column wider than the view, at the 3-D view's expense.  The methods are
    QTabWidget's that the window uses.
    """

    def __init__(self):
        super().__init__()
        self.bar = QTabBar()
        self.bar.setDrawBase(False)
        self.stack = QStackedWidget()
        self.top = QHBoxLayout()
        self.top.setContentsMargins(0, 0, 0, 0)
        self.top.addWidget(self.bar)
        self.top.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(self.top)
        column.addWidget(self.stack, 1)
        self.bar.currentChanged.connect(self.stack.setCurrentIndex)

    def addTab(self, widget: QWidget, text: str) -> None:
        self.stack.addWidget(widget)
        self.bar.addTab(text)

    def setTabToolTip(self, index: int, tip: str) -> None:
        self.bar.setTabToolTip(index, tip)

    def setTabEnabled(self, index: int, enabled: bool) -> None:
        self.bar.setTabEnabled(index, enabled)

    def isTabEnabled(self, index: int) -> bool:
        return self.bar.isTabEnabled(index)

    def setCornerWidget(self, widget: QWidget) -> None:
        self.top.addWidget(widget)

    def setCurrentWidget(self, widget: QWidget) -> None:
        self.bar.setCurrentIndex(self.stack.indexOf(widget))

    def currentWidget(self) -> QWidget:
        return self.stack.currentWidget()


@dataclass
class Layout:
    """The widgets the window shows, built and placed by :func:`build_layout`."""

    data_panel: DataPanel
    fit_panel: FitPanel
    compare_panel: ComparePanel
    model_summary: ModelSummary
    selection_panel: SelectionPanel
    controls: QTabWidget  # the panels' tabs: Data, Fit, Model selection
    plot2d: Plot2DView
    plot3d: Plot3DView
    convergence: ConvergenceView
    selection_view: SelectionView
    bootstrap_view: BootstrapView  # the test for K's histograms
    bottom_tabs: QTabWidget  # the convergence, selection and Test K views
    centre: QSplitter  # the views above the bottom tabs
    playback_bar: PlaybackBar
    display_note: QLabel  # how many points are shown (status bar)
    load_progress: QProgressBar  # a file being read (status bar)
    compare_view: CompareStartsView  # Compare starts: one fit per start (bottom tab)
    pairs: PairsView | None = None  # the scatterplot matrix, a tab beside the 2-D view
    plane_tabs: PlaneTabs | None = None  # the 2-D view and the Pairs view

    def show_bottom(self, widget: QWidget) -> None:
        """Bring a bottom view to the front, with its share of the height (the
        selection view's curves and table and the histograms need more)."""
        self.bottom_tabs.setCurrentWidget(widget)

    def _share_centre(self) -> None:
        total = sum(self.centre.sizes())
        tall = (self.selection_view, self.bootstrap_view, self.compare_view)
        share = 0.5 if self.bottom_tabs.currentWidget() in tall else 1 / 3
        self.centre.setSizes([round(total * (1 - share)), round(total * share)])


def build_layout(window: QMainWindow, pool) -> Layout:
    data_panel = DataPanel(pool)
    fit_panel, compare_panel = FitPanel(), ComparePanel()
    model_summary, selection_panel = ModelSummary(), SelectionPanel()
    fit_tab = QWidget()
    fit_layout = QVBoxLayout(fit_tab)
    fit_layout.setContentsMargins(0, 0, 0, 0)
    for widget in (fit_panel, compare_panel, model_summary):
        fit_layout.addWidget(widget)
    fit_layout.addStretch(1)
    controls = QTabWidget()
    controls.addTab(data_panel, "Data")
    controls.addTab(fit_tab, "Fit")
    controls.addTab(selection_panel, "Model selection")
    controls.setMinimumWidth(300)

    plot2d, plot3d = Plot2DView(), Plot3DView()
    convergence, selection_view = ConvergenceView(), SelectionView()
    bootstrap_view = BootstrapView()
    pairs = PairsView()
    plane_tabs = PlaneTabs()
    plane_tabs.addTab(plot2d, "2-D")
    plane_tabs.addTab(pairs, "Pairs")
    plane_tabs.setTabToolTip(1, "Every pair of the chosen features (3 or more features); "
                             "click a panel to show its pair in the 2-D view")
    views = QSplitter(Qt.Orientation.Horizontal)
    views.addWidget(plane_tabs)
    views.addWidget(plot3d)
    bottom_tabs = QTabWidget()
    bottom_tabs.addTab(convergence, "Convergence")
    bottom_tabs.addTab(selection_view, "Model selection")
    bottom_tabs.addTab(bootstrap_view, "Test K")
    compare_view = CompareStartsView()
    bottom_tabs.addTab(compare_view, "Compare starts")
    centre = QSplitter(Qt.Orientation.Vertical)
    centre.addWidget(views)
    centre.addWidget(bottom_tabs)
    centre.setStretchFactor(0, 3)
    centre.setStretchFactor(1, 2)
    playback_bar = PlaybackBar()
    right = QWidget()
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    right_layout.addWidget(centre, 1)
    right_layout.addWidget(playback_bar)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(controls)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([360, 1040])
    views.setSizes([520, 520])
    centre.setSizes([560, 280])
    window.setCentralWidget(splitter)

    display_note = QLabel()
    load_progress = QProgressBar()
    load_progress.setMaximumWidth(180)
    load_progress.setVisible(False)
    window.statusBar().addPermanentWidget(display_note)
    window.statusBar().addPermanentWidget(load_progress)
    layout = Layout(data_panel, fit_panel, compare_panel, model_summary, selection_panel,
                    controls, plot2d, plot3d, convergence, selection_view, bootstrap_view,
                    bottom_tabs, centre,
                    playback_bar, display_note, load_progress, compare_view, pairs=pairs,
                    plane_tabs=plane_tabs)
    bottom_tabs.currentChanged.connect(lambda _: layout._share_centre())
    return layout


def action(parent, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
    made = QAction(text, parent)
    if shortcut:
        made.setShortcut(QKeySequence(shortcut))
    if tip:
        made.setToolTip(tip)
        made.setStatusTip(tip)
    made.triggered.connect(lambda *_: slot())
    return made


def _show_test_k(layout: Layout) -> None:
    """The menu's Test K…: the box that runs it and the tab that shows it."""
    layout.controls.setCurrentWidget(layout.selection_panel)
    layout.selection_panel.test_k.run_button.setFocus()
    layout.show_bottom(layout.bootstrap_view)


@dataclass
class Actions:
    """The window's own actions (the fit panel has Fit, Pause, Step and Stop)."""

    open: QAction
    demo: QAction
    apply_model: QAction
    export_csv: QAction
    export_json: QAction
    export_2d: QAction
    export_3d: QAction
    export_window: QAction
    compare_starts: QAction | None = None  # Fit > Compare starts…
    export_animation: QAction | None = None  # File > Export animation…


def build_menus(window: QMainWindow, layout: Layout, files, show_demo,
                compare_starts=None, export_animation=None) -> Actions:
    """The File, Fit, View and Help menus and the toolbar; ``files``: the FileActions."""
    made = Actions(
        open=action(window, "&Open CSV…", files.open_csv_dialog, "Ctrl+O",
                    "Read a CSV file (you can also drop one onto the window)"),
        demo=action(window, "&Demo data", show_demo, tip="The lab's overlapping 3-D mixture"),
        apply_model=action(window, "&Apply model…", files.apply_model_dialog,
                           tip="Label the current data with a saved model JSON (its features "
                               "must be the data's, by name)"),
        export_csv=action(
            window, "Labeled &CSV…", files.export_labeled_csv_dialog, "Ctrl+E",
            "The data's columns, then component (1-based), probability, p_1 .. p_K "
            "(needs a model: fit one or pick a candidate)"),
        export_json=action(window, "Model &JSON…", files.export_model_json_dialog,
                           tip="Weights, means, covariances, criteria, candidates"),
        export_2d=action(window, "&2-D view (PNG/SVG)…", files.export_2d_image_dialog,
                         tip="The 2-D plot as shown, with its legend"),
        export_3d=action(window, "&3-D view (PNG)…", files.export_3d_image_dialog,
                         tip="The 3-D scene from the current camera"),
        export_window=action(window, "&Window (PNG)…", files.export_window_image_dialog,
                             tip="A picture of the whole window"),
    )
    fit_actions = layout.fit_panel.actions()

    menu = window.menuBar().addMenu("&File")
    menu.addAction(made.open)
    menu.addAction(made.demo)
    menu.addAction(made.apply_model)
    menu.addSeparator()
    export = menu.addMenu("&Export")
    for item in (made.export_csv, made.export_json, made.export_2d, made.export_3d,
                 made.export_window):
        export.addAction(item)
    if export_animation is not None:
        made.export_animation = action(
            window, "Export &animation…", export_animation,
            tip="The fit's iterations as a GIF or MP4 (2-D view, 3-D view or both)")
        menu.addAction(made.export_animation)
    menu.addSeparator()
    menu.addAction(action(window, "&Quit", window.close, "Ctrl+Q"))

    menu = window.menuBar().addMenu("F&it")
    for item in fit_actions:
        menu.addAction(item)
    menu.addSeparator()
    if compare_starts is not None:
        made.compare_starts = action(
            window, "&Compare starts…", compare_starts,
            tip="Fit the fit panel's K and structure from k-means, k-means++, random and "
                "hierarchical starts (and a given start), side by side")
        menu.addAction(made.compare_starts)
    menu.addAction(action(window, "&Model selection…",
                          lambda: layout.controls.setCurrentWidget(layout.selection_panel)))
    menu.addAction(action(window, "&Test K…", lambda: _show_test_k(layout),
                          tip="The bootstrap likelihood-ratio test for the number of "
                              "components (its settings are on the Model selection tab)"))

    menu = window.menuBar().addMenu("&View")
    menu.addAction(action(window, "&Display cap…", files.ask_display_cap,
                          tip="Most points drawn; beyond it a fixed random subsample"))
    controls = QAction("&Controls panel", window, checkable=True, checked=True)
    controls.toggled.connect(layout.controls.setVisible)
    menu.addAction(controls)

    menu = window.menuBar().addMenu("&Help")
    menu.addAction(action(window, "&About", files.about))

    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addAction(made.open)
    toolbar.addSeparator()
    for item in fit_actions:
        toolbar.addAction(item)
    toolbar.addSeparator()
    toolbar.addAction(made.export_csv)
    return made
