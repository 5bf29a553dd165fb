"""Child-process agents that integration tests start and SIGKILL to prove recovery."""
