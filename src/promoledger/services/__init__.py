"""Services: one function per use case; each owns its transaction through the unit of work."""
