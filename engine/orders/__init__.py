"""Orders and the broker protocol, in one place for the venues (brokers/) and the event simulator (engine.sim.event).

rules: order types, classes, time in force and the check of each combination. instruments: equities and listed
options as order symbols. values: capabilities, account, positions, requests, acks, statuses, fills.
protocol: the `Broker` protocol. errors: the broker error hierarchy.
"""
