"""Domain: pure rules and vocabulary. No I/O, no HTTP, no SQL."""
