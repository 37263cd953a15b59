"""Local stand-ins for the provider APIs, so tests never leave 127.0.0.1."""
