"""Pure routing logic with injected clocks and randomness: balancers, client addressing."""
