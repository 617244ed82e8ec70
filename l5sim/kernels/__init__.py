"""Numba kernels. They import only :mod:`l5sim._numba_config` and see only arrays and scalars."""
