"""The main window and the parts it owns, apart from the widgets it shows.

* ``main_window.py``: ``MainWindow``, which builds the parts below and wires them;
* ``layout.py``: where the panels and views sit, the menus and the toolbar;
* ``session.py``: ``Session``, the state every part reads (the data, the display
  rows, the playback record, the current model) and signals when it changes;
* the controllers, plain objects the window owns, each one seam of its work:
  ``fit_controller.py`` (an EM fit: the worker, pause / step / stop),
  ``sweep_controller.py`` (model selection), ``lrt_controller.py`` (Test K, the
  bootstrap likelihood-ratio test for the number of components), ``frames.py``
  (the 60 Hz frame timer, a streamed frame drawn one view per tick, the stepping
  lesson), ``scores.py`` (k-means and the agreement scores), ``file_actions.py``
  (exports, dialogs, About).

The panels (``gui.panels``) and views (``gui.views``) know nothing of this package:
they expose setters and signals, and the window connects them here.
"""
