"""The model: a Gaussian mixture and what follows from its parameters.

``mixture`` holds :class:`Mixture` (log-densities, responsibilities, sampling,
information criteria); ``covariance`` holds the covariance structures, one
strategy each.  A new covariance structure goes here.  Imports only numpy/scipy.
"""
