"""The operations: appending (single and bulk), verification and audit, rebuilding the
views, exports, proofs and bundles, key files, helper processes."""
