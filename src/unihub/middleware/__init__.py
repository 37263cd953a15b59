"""Cross-cutting protection for every route: limits, idempotency, observability, faults.

Everything here is pure ASGI middleware or an exception handler installed once by
`install_middleware`, so routes added later are covered without per-route work.
"""
