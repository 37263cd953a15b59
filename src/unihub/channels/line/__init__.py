"""LINE customers."""
