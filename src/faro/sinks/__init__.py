"""sinks layer (see DESIGN.md: imports flow cli -> api -> capture/sinks/ops -> kube -> model)."""
