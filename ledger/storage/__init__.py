"""The store: the only place SQL runs. The schema and the events table, the views, and
the tables beside the chain (tree hashes, checkpoints, signatures)."""
