"""Store: current state, the registry, change tracking, change windows. Imports analysis, inventory, the base."""
