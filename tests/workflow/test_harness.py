"""What the harness changes in the definition for moto, and why each change is still needed.

If moto learns EXPRESS children or WriterConfig, the first test fails: the rewrite can then go.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency import MaxConcurrencyPath
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

from tests.workflow.definition import definition, definition_text
from tests.workflow.harness import JSONL_COMPACT, for_moto, result_file, writer_configs


def test_moto_refuses_express_children_and_writer_config(discovery_json: dict[str, Any]) -> None:
    with pytest.raises(ASLParserException) as refused:
        AmazonStateLanguageParser.parse(definition_text(discovery_json))
    assert '"EXPRESS"' in str(refused.value)
    assert '"WriterConfig"' in str(refused.value)


def test_moto_reads_the_rewritten_definition_with_its_concurrency_path(discovery_json: dict[str, Any]) -> None:
    program, _ = AmazonStateLanguageParser.parse(for_moto(definition_text(discovery_json)))
    scan_map = program.states.states["ScanAccounts"]  # type: ignore[attr-defined]
    assert isinstance(scan_map, StateMap)
    assert isinstance(scan_map.max_concurrency_decl, MaxConcurrencyPath)


def test_for_moto_changes_only_what_moto_cannot_read(discovery_json: dict[str, Any]) -> None:
    original = definition(discovery_json)
    rewritten = json.loads(for_moto(definition_text(discovery_json)))
    for label in ("ScanAccounts", "PublishEvents"):
        before, after = original["States"][label], rewritten["States"][label]
        assert before["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "EXPRESS"
        assert after["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "STANDARD"
        assert "WriterConfig" not in after["ResultWriter"]
        assert after["ResultWriter"] == {k: v for k, v in before["ResultWriter"].items() if k != "WriterConfig"}
    unchanged = {"Plan", "Finalize", "Announce", "MoreRounds", "AnyEvents", "AnyTargets"}
    assert {name: rewritten["States"][name] for name in unchanged} == {
        name: original["States"][name] for name in unchanged
    }


def test_the_writer_config_the_definition_asked_for_is_kept_for_the_result_writer(
    discovery_json: dict[str, Any],
) -> None:
    assert writer_configs(definition_text(discovery_json)) == {
        "ScanAccounts": JSONL_COMPACT,
        "PublishEvents": JSONL_COMPACT,
    }


def test_jsonl_compact_results_are_one_child_output_per_line() -> None:
    outputs = [{"account_id": "1", "status": "done"}, {"account_id": "2", "status": "failed"}]
    name, body = result_file(JSONL_COMPACT, "arn:aws:states:us-east-1:1:mapRun:m/ScanAccounts:x", outputs)
    assert name == "SUCCEEDED_0.jsonl"
    assert [json.loads(line) for line in body.decode().splitlines()] == outputs
    assert body.endswith(b"\n")


def test_without_writer_config_results_are_aws_default_json_entries() -> None:
    name, body = result_file(None, "arn:aws:states:us-east-1:1:mapRun:m/Map:x", [{"a": 1}])
    assert name == "SUCCEEDED_0.json"
    (entry,) = json.loads(body)
    assert (entry["Status"], json.loads(entry["Output"])) == ("SUCCEEDED", {"a": 1})


def test_an_unknown_writer_config_is_refused_not_guessed() -> None:
    with pytest.raises(NotImplementedError):
        result_file({"OutputType": "JSON", "Transformation": "FLATTEN"}, "arn", [])
