"""Simulation: the vectorized kernels and their jit tiers, costs, trades, parameter grids, results."""
