"""Test helpers that drive the real local cluster (testbed/): manifests, waits, logs, crashes."""
