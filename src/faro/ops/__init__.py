"""ops layer (imports flow one way: docs/design.md, "Layers")."""
