#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy ApiDiscovery`. Needs no credentials and no Docker."""

from __future__ import annotations

import sys

from infra.app_factory import build_app
from infra.config import ConfigError


def main() -> None:
    try:
        built = build_app()
    except ConfigError as exc:
        sys.exit(str(exc))
    built.app.synth()


if __name__ == "__main__":
    main()
