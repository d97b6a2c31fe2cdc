"""ops layer (docs/design.md: imports flow cli -> api -> capture | sinks | ops -> config -> kube -> model)."""
