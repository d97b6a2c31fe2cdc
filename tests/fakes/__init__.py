"""Fakes for unit tests of the kube layer: parts of an API server that a real one will not
produce on demand (a 410 in a watch stream, a stalled stream, a 429, a trickling log)."""
