"""Container logs of every pod in a story: which instances to stream, follow and final reads,
and the lines as story events."""
