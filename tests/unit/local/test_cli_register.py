"""`api-discovery register`: a generated ExternalId is printed once; one another account uses is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from api_discovery.local.cli import app
from api_discovery.store.registry import EXTERNAL_ID, Registry
from api_discovery.store.state import create_table


@pytest.fixture
def registry() -> Iterator[Registry]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state")
        yield Registry(client, "state")


def _register(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["register", "--table", "state", *arguments])
    # Error messages come in a Rich panel that wraps lines: read them as one line of words.
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def test_a_generated_external_id_is_printed_once_and_stored(registry: Registry) -> None:
    code, output = _register("--account", "111111111111", "--name", "Example Corp", "--region", "eu-west-1")
    assert code == 0, output
    (printed,) = re.findall(r"shown this once: (\S+)", output)
    assert EXTERNAL_ID.match(printed)
    assert registry.external_id("111111111111") == printed
    (account,) = registry.accounts()
    assert (account.name, account.regions) == ("Example Corp", ["eu-west-1"])

    code, output = _register("--account", "111111111111", "--region", "us-east-1")
    assert code == 0, output
    assert printed not in output  # not shown again, and kept
    assert registry.external_id("111111111111") == printed


def test_an_external_id_of_another_account_is_refused(registry: Registry) -> None:
    assert _register("--account", "111111111111", "--external-id", "customer-0001-abcdef")[0] == 0
    code, output = _register("--account", "222222222222", "--external-id", "customer-0001-abcdef")
    assert code == 2
    assert "already used by another account" in output
    assert [a.account_id for a in registry.accounts()] == ["111111111111"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--account", "12345"), "12 digits"),
        (("--account", "111111111111", "--external-id", "has a space"), "ExternalId"),
        (("--account", "111111111111", "--region", "mars-north-1"), "unknown region"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(
    registry: Registry, arguments: tuple[str, ...], message: str
) -> None:
    code, output = _register(*arguments)
    assert code == 2
    assert message in output
    assert "Traceback" not in output
    assert registry.accounts() == []
