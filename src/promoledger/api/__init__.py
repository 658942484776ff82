"""HTTP: thin routes, the dependencies they share, and the one exception-to-response mapper."""
