"""The fleet's estate and its synthetic results at scale: exact shares, the same for a seed, and results that
the library's own models read back."""

from __future__ import annotations

import json

import pytest

from api_discovery.inventory.results import AccountResult
from api_discovery.local.quota_emulator import QuotaRates
from api_discovery.store.tracking import ChangeSet
from api_discovery.targets import AccountTarget
from bench.fleet_estate import EstateMix, account_bound, account_ids, account_minimum, build_fleet, plan_changes
from bench.fleet_results import ChangeTemplate, choose_changed, write_round

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1")


def test_the_mix_is_exact_and_the_seed_decides() -> None:
    fleet = build_fleet(account_ids(200), REGIONS)
    assert fleet.classes() == {"empty": 900, "small": 90, "large": 10}
    small = [r.apis for r in fleet.regions if r.tier == "small"]
    large = [r.apis for r in fleet.regions if r.tier == "large"]
    assert min(small) >= 1 and max(small) <= 10 and min(large) >= 10 and max(large) <= 100
    assert build_fleet(account_ids(200), REGIONS) == fleet
    assert build_fleet(account_ids(200), REGIONS, EstateMix(seed=1)) != fleet
    with pytest.raises(ValueError, match="add up"):
        EstateMix(empty=0.5)


def test_an_empty_account_still_costs_seven_lists_a_region() -> None:
    fleet = build_fleet(account_ids(1), REGIONS, EstateMix(empty=1.0, small=0.0, large=0.0))
    minimum = account_minimum(fleet.regions)
    assert sum(minimum.values()) == 7 * len(REGIONS)
    bound = account_bound(fleet.regions, QuotaRates(rate=10, burst=36))
    assert bound.seconds == 0.0  # 35 calls: within the burst
    busier = account_bound(fleet.regions * 4, QuotaRates(rate=10, burst=36))
    assert busier.seconds == pytest.approx((140 - 36) / 10)


def test_about_one_percent_of_regions_change() -> None:
    fleet = build_fleet(account_ids(100), REGIONS)
    changes = plan_changes(fleet, 0.01)
    assert len(changes) == 5
    by_slot = {(r.account, r.region): r for r in fleet.regions}
    assert all(by_slot[c.account, c.region].apis or c.kind == "api_added" for c in changes)
    assert len({(c.account, c.region) for c in changes}) == 5
    many = plan_changes(build_fleet(account_ids(300), REGIONS), 0.01)
    assert {c.kind for c in many} == {"api_added", "api_removed", "route_added"}


def test_synthetic_results_read_back_as_the_library_reads_them() -> None:
    fleet = build_fleet(account_ids(20), REGIONS)
    objects: dict[str, bytes] = {}
    changed = choose_changed(fleet, first_sweep=True)
    written = write_round(
        fleet, run_id="bench-x", bucket="b", put=objects.__setitem__, changed=changed, first_sweep=True
    )
    assert written.accounts == 20 and written.targets == 100 and written.changed_regions == len(changed)
    event = written.event
    manifest = json.loads(objects[event["manifest"]["key"]])
    assert [AccountTarget.model_validate(i).account_id for i in manifest] == account_ids(20)
    files = json.loads(objects[event["results"]["ResultWriterDetails"]["Key"]])["ResultFiles"]["SUCCEEDED"]
    results = [AccountResult.model_validate_json(line) for line in objects[files[0]["Key"]].splitlines()]
    targets = [t for r in results for t in r.targets]
    assert len(targets) == 100 and sum(t.change_count for t in targets) == written.changes
    for target in targets:
        if target.changes_key:
            change_set = ChangeSet.model_validate_json(objects[target.changes_key])
            assert (change_set.account_id, change_set.region) == (target.account_id, target.region)
            assert len(change_set.changes) == target.change_count


def test_change_sets_are_copied_from_measured_ones_by_size() -> None:
    def body(apis: int) -> str:
        changes = [{"type": "api_added", "api_id": f"a{n}", "subject": "x"} for n in range(apis)]
        return json.dumps(
            {
                "account_id": "111111111111",
                "region": "eu-west-1",
                "run_id": "r1",
                "scanned_at": "2026-01-01T00:00:00Z",
                "changes": changes,
            }
        )

    templates = [ChangeTemplate.parse(body(n)) for n in (1, 5, 50)]
    assert [t.apis for t in templates] == [1, 5, 50]
    fleet = build_fleet(account_ids(20), REGIONS)
    objects: dict[str, bytes] = {}
    changed = choose_changed(fleet, first_sweep=True)
    write_round(
        fleet, run_id="r2", bucket="b", put=objects.__setitem__, changed=changed, first_sweep=True, templates=templates
    )
    copied = [json.loads(v) for k, v in objects.items() if k.startswith("changes/")]
    assert copied and all(c["run_id"] == "r2" and c["account_id"] != "111111111111" for c in copied)
    large = next(r for r in fleet.regions if r.tier == "large")
    [mine] = [c for c in copied if (c["account_id"], c["region"]) == (large.account, large.region)]
    assert len(mine["changes"]) == 50
