"""Session runtimes: the contract (base), the sandboxed-process implementation (process),
the terminal client (terminal) and the state both the agent and supervisors share (state).

Import from those modules: this package stays empty so that a supervisor, which starts for
every session, loads only what it needs.
"""
