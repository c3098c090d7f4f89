"""What stands between a client's bytes and the app: proxies, size limits and timeouts."""
