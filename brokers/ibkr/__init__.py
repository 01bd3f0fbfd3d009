"""Interactive Brokers through ib_async: `adapter` (IbkrBroker), `session` (its connection and timeouts),
`connectivity` (TWS losing IB: 1100 / 1101 / 1102), `history` (historical bars, pacing), `orders` / `placing`
(orders to IB and back), `translate` (our values <-> IB's), `bars` (IbkrBarsSource), `settings` (environment).

This package module imports nothing: the registry reads `settings` without loading ib_async (~0.5 s).
"""
