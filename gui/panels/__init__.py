"""The controls on the left of the window and the playback bar under the views.

Each panel is a widget with setters (what to show) and signals (what the user
asked for); it computes nothing and never sees the window, which wires it
(``gui.window``).  ``data_sources.py`` is the data panel's non-widget half: the
immutable ``DataPayload`` and the reading and generating it runs off the GUI thread.
"""
