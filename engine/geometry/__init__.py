"""Shapes for the views: ellipse outlines and ellipsoid meshes from (mean, covariance).

``ellipses`` (mass <-> Mahalanobis radius, marginals, principal axes, affine
maps, outlines, 1-D densities) and ``ellipsoids`` (the unit-sphere mesh and its
affine transforms).  Pure numpy; the views draw what these compute.
"""
