"""Alpaca through alpaca-py: `adapter` (AlpacaBroker), `orders` (Alpaca's order rules, alpaca-py requests, replace),
`translate` (our values <-> Alpaca's, SDK errors -> ours), `faults` (what is retried, writes whose answer was
lost), `http` (the transport: timeout, alpaca-py's own retry off, malformed answers), `bars` (AlpacaBarsSource),
`settings` (environment; SDK-free).

This package module imports nothing: the registry reads `settings` without loading alpaca-py (~0.5 s).
"""
