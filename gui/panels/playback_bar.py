"""The playback bar: a slider over the recorded iterations, play/pause, step back/forward.

The bar owns no data: it shows a :class:`gui.playback.Playback`'s length and
current index and emits ``seek(index)``; the window redraws the views.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

SPEEDS = (1, 2, 5, 10, 25, 60)  # iterations per second
DEFAULT_SPEED = 10


class PlaybackBar(QWidget):
    seek = Signal(int)  # frame index

    def __init__(self, parent=None):
        super().__init__(parent)
        style = self.style()
        self.back_button = _tool(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward),
                                 "One iteration back")
        self.play_button = _tool(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
                                 "Replay the recorded iterations (Space when no fit runs)")
        self.forward_button = _tool(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward),
            "One iteration forward")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Recorded EM iterations: drag to see the model at any of them; "
                               "at the right end the view follows the running fit")
        self.speed = QComboBox()
        for value in SPEEDS:
            self.speed.addItem(f"{value} it/s", value)
        self.speed.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed.setToolTip("Replay speed in iterations per second")
        self.position = QLabel()
        self.position.setMinimumWidth(150)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QLabel("Playback"))
        for widget in (self.back_button, self.play_button, self.forward_button):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.position)
        layout.addWidget(self.speed)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._iterations: list[int] = []
        self.back_button.clicked.connect(lambda: self._go(self.slider.value() - 1))
        self.forward_button.clicked.connect(lambda: self._go(self.slider.value() + 1))
        self.play_button.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._slider_moved)
        self.speed.currentIndexChanged.connect(lambda _: self._apply_speed())
        self.set_length(0, 0, None)

    # ------------------------------------------------------------------ state from the window
    def set_length(self, length: int, current: int, iteration: int | None) -> None:
        """Show a record of ``length`` frames with frame ``current`` selected."""
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(length - 1, 0))
        self.slider.setValue(max(current, 0))
        self.slider.blockSignals(False)
        for widget in (self.slider, self.back_button, self.forward_button, self.play_button):
            widget.setEnabled(length > 1)
        if length == 0 or iteration is None:
            self.position.setText("no iterations recorded")
        else:
            self.position.setText(f"iteration {iteration} ({current + 1} / {length})")
        if length <= 1:
            self.stop_playing()

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.stop_playing()
            return
        if self.slider.maximum() == 0:
            return
        if self.slider.value() >= self.slider.maximum():
            self._go(0)  # replay from the start
        self._apply_speed()
        self._timer.start()
        self._show_play_icon(False)

    def stop_playing(self) -> None:
        self._timer.stop()
        self._show_play_icon(True)

    # ------------------------------------------------------------------ internals
    def _apply_speed(self) -> None:
        self._timer.setInterval(int(1000 / self.speed.currentData()))

    def _show_play_icon(self, play: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPlay if play else QStyle.StandardPixmap.SP_MediaPause
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _tick(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.stop_playing()
            return
        self._go(self.slider.value() + 1)

    def _go(self, index: int) -> None:
        index = max(0, min(index, self.slider.maximum()))
        self.slider.setValue(index)  # emits seek through _slider_moved when it changed

    def _slider_moved(self, index: int) -> None:
        self.seek.emit(index)


def _tool(icon, tip: str) -> QToolButton:
    button = QToolButton()
    button.setIcon(icon)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button
