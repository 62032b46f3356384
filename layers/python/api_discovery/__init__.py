"""API Discovery: inventory every API Gateway API across AWS accounts and regions, read-only."""

__version__ = "0.1.0"
PRODUCT = "api-discovery"
