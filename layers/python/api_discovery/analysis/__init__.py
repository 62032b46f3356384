"""Analysis: exposure, resource policies, findings, diffs (pure). Imports inventory and the base, no store or events."""
