"""The agent: runs the sessions the manager wants on this node (runtime/, supervisor)."""
