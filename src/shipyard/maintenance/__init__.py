"""Maintenance tasks admins start (recalculate usage, rescan environments) and the
background runner."""
