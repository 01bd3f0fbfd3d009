"""Portfolio construction over a universe: optimizers through PyPortfolioOpt (optimizers.py), their
constraints and the report of what a constraint cut (constraints.py), and the re-optimization schedule with a
lookback that never reads past the decision bar (schedule.py). The `portfolio_opt` strategy
(engine.strategies.portfolio_opt) runs them as a weights strategy."""
