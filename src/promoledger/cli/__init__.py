"""The operator CLI: calls the same services as the HTTP API."""
