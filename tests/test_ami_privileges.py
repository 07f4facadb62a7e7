"""The controller says at connect when its AMI user lacks a write class it needs or
holds one it never uses (issue 17: "an AMI user with more privileges than the
controller needs"), read from ``ListCommands``, which lists only the actions the
user's write classes allow (manager.c ``action_listcommands``)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from callcenter.ami import AMIClient
from callcenter.ami.errors import ActionError
from callcenter.preflight import CONTROLLER_ACTIONS, CONTROLLER_WRITE, ami_privilege_warnings
from pbxsim.listcommands import AUTHORITY, LIST_COMMANDS, allowed
from pbxsim.server import PBXSim

from .e2e_support import ROOT, hotline_rig, wait_until

SAMPLE = ROOT / "deploy" / "asterisk" / "manager.conf"


def sample_write() -> str:
    """The ``write =`` of the sample manager.conf's controller user."""
    found = re.search(r"^write\s*=\s*([a-z,]+)", SAMPLE.read_text(), re.MULTILINE)
    assert found is not None, f"{SAMPLE} has no write = line"
    return found.group(1)


def listed_for(write: str) -> dict[str, str]:
    """What ListCommands lists for a user of these write classes (transcript 06's lines)."""
    perm = frozenset(write.split(","))
    return {name: text for name, text in LIST_COMMANDS if allowed(name, perm)}


def test_the_actions_the_controller_sends_are_the_ones_it_checks() -> None:
    sent: set[str] = set()
    for path in [
        *Path(ROOT / "callcenter").rglob("*.py"),
        *Path(ROOT / "recordings").rglob("*.py"),
    ]:
        if {"ami", "probe", "demo"} & set(path.relative_to(ROOT).parts[1:-1]):
            continue  # the AMI library itself, the SIP probe and the demo are not the controller
        text = path.read_text()
        sent |= set(re.findall(r"send_(?:list_)?action\(\s*\"(\w+)\"", text))
        sent |= {"Originate"} if ".originate(" in text else set()
        sent |= {"AGI"} if re.search(r"client\.agi(_soon)?\(", text) else set()
    assert sent - {"Ping", "ListCommands"} == set(CONTROLLER_ACTIONS)
    for action in CONTROLLER_ACTIONS:  # each a real action, allowed by the sample's classes
        assert AUTHORITY[action.lower()] & CONTROLLER_WRITE, action
    assert frozenset(sample_write().split(",")) == CONTROLLER_WRITE


def test_the_sample_users_rights_give_no_warning() -> None:
    assert ami_privilege_warnings("pbx1", "hotline", listed_for(sample_write())) == []


def test_a_user_with_every_class_is_told_which_it_does_not_need() -> None:
    everything = dict(LIST_COMMANDS)
    [said] = ami_privilege_warnings("pbx1", "hotline", everything)
    assert said.startswith("node pbx1: AMI user 'hotline' also holds write classes")
    for extra in ("agent", "command (Command", "config", "user", "message"):
        assert extra in said, said
    for needed in ("call (", "originate (", "agi (", "system ("):
        assert needed not in said
    assert "deploy/asterisk/manager.conf" in said


def test_a_user_missing_a_class_is_told_what_fails() -> None:
    [said] = ami_privilege_warnings("pbx1", "hotline", listed_for("call,agi,system"))
    assert "may not send Originate (ringing an agent)" in said
    assert "AGI" not in said.split("may not send")[1].split(":")[0]


async def test_pbxsim_refuses_and_hides_actions_outside_the_users_classes() -> None:
    async with PBXSim(port=0, users={"ctl": "pw"}, write={"ctl": "call,agi"}) as sim:
        client = AMIClient("127.0.0.1", sim.port, "ctl", "pw", reconnect=False)
        async with client:
            answer = await client.send_action("ListCommands", expect_list=False)
            names = {k for k, _ in answer.headers}
            assert {"Redirect", "AGI", "Ping"} <= names
            assert not {"Originate", "Command", "CoreShowChannels"} & names
            with pytest.raises(ActionError, match="Permission denied"):
                await client.send_action("Originate", {"Channel": "Local/1@x", "Exten": "s"})
            pong = await client.send_action("Ping", expect_list=False)
            assert pong.ok


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        ("call,agi,system,command", ["may not send Originate", "command (Command"]),
        (None, ["also holds write classes", "config ("]),  # a user of every class
    ],
)
async def test_the_controller_warns_at_connect(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture,
    write: str | None, expected: list[str],
) -> None:  # fmt: skip
    caplog.set_level(logging.WARNING, logger="callcenter.controller")
    async with hotline_rig(tmp_path, db_url, ami_write=write) as rig:
        ctl = rig.hotline.controller
        assert ctl is not None
        node = next(iter(ctl.nodes.values()))
        await wait_until(lambda: node.privilege_warnings, 60, "the rights to be checked")
    said = " ".join(r.getMessage() for r in caplog.records if "AMI user" in r.getMessage())
    for text in expected:
        assert text in said, said


async def test_the_sample_rights_connect_without_a_warning(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter.controller")
    async with hotline_rig(tmp_path, db_url, ami_write=sample_write()) as rig:
        ctl = rig.hotline.controller
        assert ctl is not None
        node = next(iter(ctl.nodes.values()))
        await wait_until(lambda: node.privilege_warnings is not None, 60, "the rights checked")
        assert node.privilege_warnings == []
        await wait_until(lambda: ctl.counters["outcomes"] >= 1, 120, "a call to end")
    assert not [r for r in caplog.records if "AMI user" in r.getMessage()]
