"""The three roles as agents: publisher, data provider, validator (committee member)."""
