"""Client authentication without shared secrets: ``private_key_jwt`` (RFC 7523 §2.2) and
workload identity federation (outside tokens, RFC 7523 §2.1 and §2.2). See docs/secretless.md."""
