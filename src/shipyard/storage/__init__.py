"""Data & Storage: folders on disk and the path-safety rules every user path goes through."""
