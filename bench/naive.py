"""The collection pattern of the open-source inventory tools (Prowler, CloudQuery, Cartography), for comparison.

REST: GetRestApis, then per API GetRestApi, GetResources without `embed`, and per resource per method GetMethod
and GetIntegration, then GetStages and GetAuthorizers. HTTP/WebSocket: GetApis, then per API GetApi, GetRoutes,
GetIntegrations, GetStages. It runs against the emulator without quotas, only to count its calls; its quota
bound is computed from those counts.

Lists are read in pages of 500, not the AWS default of 25 those tools get by not asking: that only lowers the
naive count, so the reported ratio understates the difference rather than inflating it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

NAIVE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32)


@dataclass(frozen=True)
class NaiveResult:
    calls: dict[str, int]
    apis: int
    methods: int
    seconds: float


class _Counter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1


def naive_collect(session: boto3.Session, region: str, *, page_size: int = 500, workers: int = 8) -> NaiveResult:
    """Walk one (account, region) the naive way; APIs are walked `workers` at a time."""
    started = time.perf_counter()
    counter = _Counter()
    session.events.register("before-call", counter)
    v1: Any = session.client("apigateway", region_name=region, config=NAIVE_CONFIG)
    v2: Any = session.client("apigatewayv2", region_name=region, config=NAIVE_CONFIG)
    paging = {"PageSize": page_size}
    v2_paging = {"PageSize": str(page_size)}
    methods = Counter[str]()
    lock = threading.Lock()

    def rest_api(api_id: str) -> None:
        v1.get_rest_api(restApiId=api_id)
        for page in v1.get_paginator("get_resources").paginate(restApiId=api_id, PaginationConfig=paging):
            for resource in page.get("items", []):
                for verb in resource.get("resourceMethods", {}):
                    v1.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
                    try:
                        v1.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
                    except ClientError as exc:
                        if exc.response["Error"]["Code"] != "NotFoundException":
                            raise
                    with lock:
                        methods["methods"] += 1
        v1.get_stages(restApiId=api_id)
        for _ in v1.get_paginator("get_authorizers").paginate(restApiId=api_id, PaginationConfig=paging):
            pass

    def v2_api(api_id: str) -> None:
        v2.get_api(ApiId=api_id)
        for operation in ("get_routes", "get_integrations", "get_stages"):
            for _ in v2.get_paginator(operation).paginate(ApiId=api_id, PaginationConfig=v2_paging):
                pass

    rest_ids = [
        api["id"]
        for page in v1.get_paginator("get_rest_apis").paginate(PaginationConfig=paging)
        for api in page.get("items", [])
    ]
    v2_ids = [
        api["ApiId"]
        for page in v2.get_paginator("get_apis").paginate(PaginationConfig=v2_paging)
        for api in page.get("Items", [])
    ]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="naive") as pool:
        futures = [pool.submit(rest_api, i) for i in rest_ids] + [pool.submit(v2_api, i) for i in v2_ids]
        for future in futures:
            future.result()
    return NaiveResult(
        calls=dict(sorted(counter.calls.items())),
        apis=len(rest_ids) + len(v2_ids),
        methods=methods["methods"],
        seconds=time.perf_counter() - started,
    )
