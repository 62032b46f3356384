"""CDK constructs and stacks of API Discovery: the vendor's DiscoveryStack and the CustomerAccessStack."""
