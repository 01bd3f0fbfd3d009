"""Daily operations, broker-agnostic: signals, rebalance plans, risk rules, notifications, the audit log."""
