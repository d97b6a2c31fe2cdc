"""The encoded event storage of a story: frozen events (stored) in append-only arenas."""
