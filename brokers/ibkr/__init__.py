"""Interactive Brokers through ib_async: `adapter` (IbkrBroker), `translate` (our values <-> IB's), `bars`
(IbkrBarsSource), `settings` (environment).

This package module imports nothing: the registry reads `settings` without loading ib_async (~0.5 s).
"""
