from tests.engine.conftest import engine, receiver, receiver_server

__all__ = ["engine", "receiver", "receiver_server"]
