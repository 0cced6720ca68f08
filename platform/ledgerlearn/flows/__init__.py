"""The learning flows over the same contracts and agents: federation (rounds) and dag."""
