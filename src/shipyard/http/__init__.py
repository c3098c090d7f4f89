"""What the API and the console share: who is calling, CSRF, the database, error -> status.

Neither api/ nor web/ imports the other; both import this.
"""
