"""Deploy watcher: flags services whose deployments keep failing (an AgentStream example)."""
