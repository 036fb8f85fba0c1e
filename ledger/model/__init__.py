"""The model: the contracts, defaults, rules, JSON Pointer, the fold into a record's state,
the public labels, and the chain check over a stream of events. Pure."""
