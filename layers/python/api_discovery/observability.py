"""One place for Powertools Logger, Tracer and Metrics, so every handler logs and measures the same way."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "api-discovery"
NAMESPACE = "ApiDiscovery"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
