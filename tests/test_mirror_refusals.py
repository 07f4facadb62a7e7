"""A web-only node's desk (``callcenter.mirror.MirrorDesk``) drives no PBX: the attended
transfer's consult, complete and cancel are refused with ``not_driving`` like every
other action, never fed to its never-started controller. Regression: the consult
methods added to ``ControllerDesk`` were inherited and reached that controller."""

from __future__ import annotations

import pytest

from callcenter.mirror import MirrorDesk, NotDriving


@pytest.mark.parametrize(
    ("call", "args"),
    [("consult", ("pbx1:1.1", "7", "8")), ("end_consult", ("pbx1:1.1", "7", True)),
     ("end_consult", ("pbx1:1.1", "7", False)), ("transfer", ("pbx1:1.1", "support", "7"))],
)  # fmt: skip
def test_a_web_only_desk_refuses_transfers(call: str, args: tuple) -> None:
    desk = object.__new__(MirrorDesk)  # no controller at all: nothing may reach one
    with pytest.raises(NotDriving):
        getattr(desk, call)(*args)


async def test_a_web_only_desk_refuses_to_schedule_a_callback() -> None:
    # the scheduled callback (flow core rule 18) is fed to the driving node's core only
    import datetime as dt

    desk = object.__new__(MirrorDesk)
    with pytest.raises(NotDriving):
        await desk.schedule_callback("pbx1:1.1", "7", dt.datetime.now(dt.UTC), None, "")
