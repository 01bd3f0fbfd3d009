"""Portfolio construction over a universe: optimizers through PyPortfolioOpt's formulations on numpy windows
(optimizers.py, with estimates.py, problems.py: cvxpy problems built once per shape, and hrp.py), their
constraints and the report of what a constraint cut (constraints.py), and the re-optimization schedule with a
lookback that never reads past the decision bar (schedule.py). The `portfolio_opt` strategy
(engine.strategies.portfolio_opt) runs them as a weights strategy."""
