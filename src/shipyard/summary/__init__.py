"""The Summary page's figures: Resource Statistics and System Resources, from the one ledger."""
