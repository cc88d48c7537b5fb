"""didstudy.kernels: the numerical layer below estimation and inference.

Pure functions and frozen dataclasses on arrays, used by every estimator and resampling
procedure: :mod:`~didstudy.kernels.demean` (the one within transformation),
:mod:`~didstudy.kernels.fixed_effects` (factor encoding, singletons, nesting),
:mod:`~didstudy.kernels.ols` (least squares with collinearity screening),
:mod:`~didstudy.kernels.vcov` (every variance estimator and the one small-sample convention) and
:mod:`~didstudy.kernels.resample` (the seeded draw generator and the chunked executor).
Kernels import only :mod:`didstudy.errors` and :mod:`didstudy.data`.
"""
