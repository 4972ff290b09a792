"""Model order selection: the (K, structure) grid, its candidates, the worker pool.

``candidate`` fits one grid point and judges it (status and reason), ``sweep``
runs the grid and picks the best by a criterion, ``pool`` spreads a grid over
worker processes, ``report`` writes the model JSON.  A new criterion or test
for K goes here.  Imports ``engine.em`` and ``engine.model``.
``bootstrap`` chooses K by sequential bootstrap likelihood-ratio tests (mclust's).
"""
