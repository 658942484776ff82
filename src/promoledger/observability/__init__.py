"""Operating promoledger: logs, metrics, the HTTP server's limits and its start-up checks."""
