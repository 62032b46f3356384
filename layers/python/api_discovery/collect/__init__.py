"""Collect: read-only customer sessions, the call budget, the collectors. Imports inventory and the base."""
