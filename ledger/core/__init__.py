"""The pure core: canonical JSON, the event envelope and its hash, RFC 6962 hashing and
proofs, signed notes and checkpoints. No I/O, no clock, no SQL."""
