"""Animations of a fit: frames drawn by the window's views (``render``), written as
GIF or MP4 (``encode``), and the command line's ``--animation`` without a display
(``headless``).  Imports ``gui.views``; the window and ``main.py`` import it."""
