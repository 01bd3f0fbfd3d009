"""The paper broker: `adapter` (PaperBroker, the embedded default), `prices` (its price sources), `schema` (its
tables as numbered migrations). It speaks our values directly (no translation tables) and has no bar source.
"""
