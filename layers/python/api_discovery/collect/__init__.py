"""Collectors: the fewest read calls that inventory one (account, region)."""
