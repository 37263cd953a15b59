"""`make bench`: load tests of a real `unihub serve` against the same stack's bare-ASGI ceiling."""
