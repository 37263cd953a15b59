"""Facebook Messenger customers."""
