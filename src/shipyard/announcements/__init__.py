"""The announcement every page shows (one, set by admins)."""
