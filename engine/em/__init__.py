"""EM itself: starts, the E-step/M-step pass and its fast kernels, the loop, fitting.

``starts`` (kmeans, k-means++, random, random-from-data, given parameters),
``kernel_plan`` and ``kernels`` (the E-step pass as matrix products, on threads
from ``threads``), ``steps`` (one iteration: E-step statistics, M-step),
``loop`` (the :class:`~engine.em.loop.Snapshot` generator and stopping rule),
``fitting`` (screened restarts, ``fit_iter``, ``fit``).  A new start or a new
kernel goes here.  Imports ``engine.model``.
"""
