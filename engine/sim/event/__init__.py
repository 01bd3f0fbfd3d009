"""The event simulator (issue 17): the simulated broker, its order book and fill rules, the context and the loop."""
