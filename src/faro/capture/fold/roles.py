"""What a watch is for, as the fold reads it: its objects may be primaries, children of a
story, Kubernetes Events, or CustomResourceDefinitions (new kinds to watch). One watch may
have several roles (a Pod watch for a Pod rule is also the watch of every story's pods)."""

from __future__ import annotations

PRIMARY, CHILD, EVENTS, CRDS = "primary", "child", "events", "crds"
