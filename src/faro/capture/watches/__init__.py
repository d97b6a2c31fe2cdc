"""What to watch: the plan of watches for a capture's rules, start-up in waves, the RBAC a
plan needs. Imports flow engine -> watches -> fold -> container_logs (import-linter)."""
