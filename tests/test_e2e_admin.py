"""Administration without a restart, in a real headless Chromium over the whole hotline
(pbxsim over real TCP AMI, the controller, SQLite and PostgreSQL, the web app).

The admin creates an agent and its login on the admin page; that agent logs in to the
desk, goes ready and is offered, rings and talks to a caller: the controller is never
restarted (the same ``Hotline`` object throughout; :func:`hotline_rig` starts it once).
The admin adds a disposition code and a pause reason; the agent's desk, opened before,
offers them once the page is loaded again (the browser's reload, not the controller's),
and the agent uses both: the disposition lands in SQL with the new code, the ACD pauses
the agent with the new reason.

An API token made on the page with only ``calls`` ticked is shown once, reads nothing,
moves a waiting call and is listed with its scope; a role changed on the page binds the
login's open session (and its tokens) on their next request.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from callcenter.flow import Stage

from .e2e_support import hotline_rig, wait_until
from .test_e2e_browser import (
    CUSTOMERS,
    LIVE_MS,
    agent_id_of,
    caller_arrives,
    chromium,
    expect,
    interactions,
    log_in,
    no_callers,
    open_page,
)
from .test_e2e_desk import call_of


async def admin_logs_in(page: Any, base: str) -> None:
    """The admin's login form, then the admin page with its tables loaded."""
    await page.goto(base + "/admin")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", "admin-pass")
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/admin")
    await page.wait_for_selector('body[data-loaded="yes"]')


async def test_the_admin_adds_an_agent_and_desk_lists_that_work_at_once(tmp_path, db_url):
    customer = CUSTOMERS[5]
    number = customer.national_numbers[0]
    quick = {"default": {"answer_delay": 1, "talk_time": [2, 3], "agent_hangs_up_probability": 0}}
    errors: list[str] = []
    # agent1 exists but never logs in: only the new agent can take the caller
    async with hotline_rig(tmp_path, db_url, no_callers(quick), agents=1, auto_login=False,
                           offer_timeout_s=15) as rig:  # fmt: skip
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        controller = rig.ctl
        async with chromium() as browser:
            admin = await open_page(browser, errors)
            await admin_logs_in(admin, base)
            await admin.get_by_test_id("new-username").fill("agent9")
            await admin.get_by_test_id("new-name").fill("Trần Thị Mới")
            await admin.get_by_test_id("new-password").fill("agent9-pass")
            await admin.get_by_test_id("new-role").select_option("agent")
            await admin.get_by_test_id("new-device").fill("PJSIP/1009")
            await admin.get_by_test_id("new-queue-support").check()
            await admin.get_by_test_id("new-skills").fill("billing=3")
            await admin.get_by_test_id("new-submit").click()
            await expect(admin.get_by_test_id("admin-status")).to_have_text("Added agent9")
            await expect(admin.get_by_test_id("login-agent9")).to_contain_text("PJSIP/1009")
            new = await agent_id_of(rig, "agent9")
            # the answer came once the ACD had the agent (no poll waited for)
            assert controller.core.agent(str(new), controller.now()).agent_id == str(new)

            desk = await open_page(browser, errors)
            await log_in(desk, base + "/agent", "agent9")
            await expect(desk.get_by_test_id("who-name")).to_have_text("Trần Thị Mới")
            codes = desk.locator("#dispo-code option")
            reasons = desk.locator("[data-testid=pause-reason] option")
            assert "warranty" not in await codes.evaluate_all("os => os.map(o => o.value)")
            assert "coaching" not in await reasons.evaluate_all("os => os.map(o => o.value)")

            for kind, code, label in (("dispositions", "warranty", "Warranty claim"),
                                      ("pause-reasons", "coaching", "Coaching")):  # fmt: skip
                await admin.get_by_test_id(f"{kind}-code").fill(code)
                await admin.get_by_test_id(f"{kind}-label").fill(label)
                await admin.get_by_test_id(f"{kind}-submit").click()
                await expect(admin.get_by_test_id(f"{kind}-{code}")).to_contain_text(label)

            await desk.reload()  # the page again; the controller runs on untouched
            await desk.wait_for_selector('body[data-live="open"]')
            await expect(desk.locator("#dispo-code option[value=warranty]")).to_have_text(
                "Warranty claim"
            )
            await expect(
                desk.locator("[data-testid=pause-reason] option[value=coaching]")
            ).to_have_text("Coaching")

            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await caller_arrives(rig, number)
            await expect(desk.get_by_test_id("card")).to_contain_text(customer.full_name,
                                                                      timeout=LIVE_MS)  # fmt: skip
            (call,) = [c for c in controller.calls.values() if c.caller_number == number]
            assert call.agent_id == str(new)
            await wait_until(lambda: call.stage is not Stage.OFFERED, 60, "agent9 to answer")
            assert call.stage in (Stage.TALKING, Stage.AFTER_CALL, Stage.ENDED)
            await expect(desk.get_by_test_id("call-status")).to_contain_text(
                "Call ended", timeout=LIVE_MS
            )
            await desk.get_by_test_id("dispo-code").select_option("warranty")
            await desk.get_by_test_id("dispo-notes").fill("new code")
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text("Saved: Warranty claim")

            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
            await desk.get_by_test_id("pause-reason").select_option("coaching")
            await desk.get_by_test_id("pause").click()
            await expect(desk.get_by_test_id("state")).to_contain_text("Paused")
            view = controller.core.agent(str(new), controller.now())
            assert (view.state.value, view.reason) == ("paused", "coaching")
        assert rig.hotline.controller is controller  # one controller from start to end
        saved = await interactions(rig, call.call_id)
    assert [(i.disposition, i.notes, i.agent_id) for i in saved] == [("warranty", "new code", new)]
    assert errors == []


async def test_a_calls_only_token_and_a_role_change_made_on_the_admin_page(tmp_path, db_url):
    # b2b47b5's scope checkboxes and the role select, driven on the page: a token with
    # only `calls` ticked is shown once, reads nothing, moves a waiting call, and is
    # listed with its scope; the supervisor, demoted to agent on the page while its
    # wallboard is open, is refused the wallboard's API on its next request
    number = CUSTOMERS[6].national_numbers[0]
    errors: list[str] = []
    # agent1 never logs in: the caller waits in the queue for the token to move
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.base
        async with chromium() as browser, aiohttp.ClientSession() as http:
            admin = await open_page(browser, errors)
            await admin_logs_in(admin, base)
            await admin.get_by_test_id("token-name").fill("mover")
            await admin.get_by_test_id("token-user").fill("supervisor")
            await admin.get_by_test_id("token-scope-read").uncheck()  # ticked by default
            await admin.get_by_test_id("token-scope-calls").check()
            await admin.get_by_test_id("token-submit").click()
            await expect(admin.get_by_test_id("admin-status")).to_have_text("Made mover")
            shown = admin.get_by_test_id("new-token")
            await expect(shown).to_contain_text("The token (shown only now): ")
            token = (await shown.text_content()).rsplit(": ", 1)[1].strip()
            assert len(token) >= 32
            await expect(admin.get_by_test_id("scopes-mover")).to_have_text("calls")
            await expect(admin.get_by_test_id("token-mover")).to_contain_text("supervisor")
            await admin.reload()  # shown once: never again, not even to the admin
            await admin.wait_for_selector('body[data-loaded="yes"]')
            await expect(admin.get_by_test_id("scopes-mover")).to_have_text("calls")
            await expect(admin.get_by_test_id("new-token")).to_have_text("")
            assert token not in await admin.content()

            async def ask(method: str, path: str, body: Any = None) -> tuple[int, Any]:
                async with http.request(method, base + path, json=body,
                                        headers={"Authorization": f"Bearer {token}"}) as r:  # fmt: skip
                    return r.status, await r.json()

            await caller_arrives(rig, number, patience=2000)
            call = await call_of(rig, number)
            await wait_until(lambda: rig.ctl.core.call(call.call_id, rig.ctl.now()) is not None,
                             60, "the caller waiting in the queue")  # fmt: skip
            for path in ("/api/wallboard", "/api/waiting", "/api/admin/tokens"):
                status, answer = await ask("GET", path)
                assert (status, answer) == (403, {
                    "error": "insufficient_scope",
                    "reason": "this token's scopes (calls) do not include 'read'"}), path  # fmt: skip
            status, answer = await ask("PUT", "/api/admin/dispositions/x", {"label": "X"})
            assert (status, answer["error"]) == (403, "forbidden")  # a supervisor's token
            status, answer = await ask("POST", f"/api/calls/{call.call_id}/move", {"priority": 3})
            assert status == 200, answer
            waiting = rig.ctl.core.call(call.call_id, rig.ctl.now())
            assert waiting is not None and waiting.priority == 3

            # the role select: the supervisor's open wallboard loses its API at once
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            wallboard = "fetch('/api/wallboard').then(r => r.status)"
            assert await board.evaluate(wallboard) == 200
            await admin.get_by_test_id("change-username").fill("supervisor")
            await admin.get_by_test_id("change-role").select_option("agent")
            await admin.get_by_test_id("change-submit").click()
            await expect(admin.get_by_test_id("admin-status")).to_have_text("Changed supervisor")
            await expect(admin.get_by_test_id("role-supervisor")).to_have_text("agent")
            assert await board.evaluate(wallboard) == 403
            # the token acts as that login: the new role binds it too
            status, answer = await ask("POST", f"/api/calls/{call.call_id}/move", {"priority": 4})
            assert (status, answer["error"]) == (403, "forbidden"), answer
            waiting = rig.ctl.core.call(call.call_id, rig.ctl.now())
            assert waiting is not None and waiting.priority == 3

            # the only admin cannot be demoted: the page says why
            await admin.get_by_test_id("change-username").fill("admin")
            await admin.get_by_test_id("change-role").select_option("supervisor")
            await admin.get_by_test_id("change-submit").click()
            await expect(admin.get_by_test_id("admin-status")).to_have_text(
                "Refused: role: 'admin' is the only admin left: make another login admin first"
            )
            await expect(admin.get_by_test_id("role-admin")).to_have_text("admin")
    assert errors == []
