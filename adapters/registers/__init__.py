"""Self-exclusion registers (`core.registers.ExclusionRegister`): over HTTP, or from a file."""
