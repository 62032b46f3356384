"""Inventory: the snapshot contract, normalisation into it, stored snapshots. Imports only the base modules."""
