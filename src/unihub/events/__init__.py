"""The Events API: activities pushed to listeners over a websocket."""
