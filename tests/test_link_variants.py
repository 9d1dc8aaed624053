"""Links and one message under every way the reference says Altegio may answer: `book_services`
with its categories under `category` or `categories` and `seance_length` filled only when
filtered by a team member, or as 0, or always (§6.5); `GET company` as documented, with its
timezone as an offset (§5, §6.3); `book_staff_seances` ignoring `datetime` or naming only the
day (§6.7). Each link opens its step and a sentence reaches its free times, as a client sees."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from tests.conftest import Bot, FakeClock
from tests.test_booking_flow import buttons
from tests.test_one_message import at_the_day_step, callbacks, times

VARIANTS: dict[str, dict[str, Any]] = {
    "documented": {},
    "categories key": {"services_form": "categories"},
    "both keys": {"services_form": "both"},
    "yclients services": {"services_form": "yclients", "lengths_form": "always"},
    "lengths as 0": {"lengths_form": "zero"},
    "lengths always": {"lengths_form": "always", "services_form": "categories"},
    "documented company": {"company_shape": "documented"},
    "timezone offset": {"company_shape": "documented", "timezone_form": "offset"},
    "timezone number": {"timezone_form": "offset_int"},
    "seances without datetime": {"seances_form": "no_datetime"},
    "seances day only": {"seances_form": "date_only", "lengths_form": "zero"},
}


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, bot: Bot) -> Bot:
    bot.sandbox.configure(1001, **VARIANTS[request.param])
    return bot


async def test_a_category_link(variant: Bot) -> None:
    user = variant.user()
    await user.send("/start cat502")
    assert "Choose a service" in user.last.text, user.screen()
    assert {"Classic manicure", "Gel manicure", "Pedicure"} <= set(buttons(user))


async def test_a_service_link_and_a_team_member_link(variant: Bot) -> None:
    user = variant.user()
    await user.send("/start svc10008")
    assert "Pedicure" in user.last.text and buttons(user)[0] == "Any available team member"
    await user.send("/start stf2005")
    assert "What would you like to book with Lukas Braun?" in user.last.text
    await user.tap("Deep-tissue massage")
    assert at_the_day_step(user), user.screen()


async def test_a_service_with_a_team_member_link(variant: Bot) -> None:
    user = variant.user()
    await user.send("/start svc10006-stf2004")
    assert at_the_day_step(user) and "Sofia Becker" in user.last.text, user.screen()
    offered = [cb for cb in callbacks(user) if cb.action in ("soon", "day")]
    assert offered


async def test_one_message_reaches_the_free_times(variant: Bot) -> None:
    user = variant.user(language_code="ru")
    await user.send("маникур у Софии завтра после 17")
    offered = times(user)
    assert offered and all(t >= "1700" for t in offered), user.screen()
    assert all(cb.arg.startswith("20261125") for cb in callbacks(user) if cb.action == "tim")
    assert "Sofia Becker" in user.last.text and "Classic manicure" in user.last.text


async def test_withdrawn_targets_fall_back_politely(variant: Bot) -> None:
    variant.sandbox.withdraw_service(10008)
    variant.sandbox.remove_staff(2005)
    variant.sandbox.remove_staff(2003)
    user = variant.user()
    await user.send("/start svc10008")
    assert "no longer offered online" in user.last.text and "Choose a category" in user.last.text
    await user.send("/start stf2005")
    assert "no longer takes online bookings" in user.last.text
    await user.send("/start svc10006-stf2003")
    # Mia left: said so (not that she does not do manicures), and who does them is offered.
    assert buttons(user)[0] == "Any available team member"
    assert "no longer takes online bookings" in user.last.text, user.screen()
    assert "does not take this service" not in user.last.text


def test_the_sandbox_gives_each_shape() -> None:
    sandbox = Sandbox(FakeClock().now)

    def services(**query: str) -> dict[str, Any]:
        with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox/api/v1") as c:
            answer = c.get(
                "/book_services/1001",
                params=query,
                headers={
                    "Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}",
                    "Accept": "application/vnd.api.v2+json",
                },
            )
            assert answer.status_code == 200, answer.text
            data: dict[str, Any] = answer.json()["data"]
            return data

    plain = services()
    assert "category" in plain and "categories" not in plain
    assert all("seance_length" not in s for s in plain["services"])
    assert all(s["seance_length"] for s in services(staff_id="2004")["services"])
    sandbox.configure(1001, services_form="categories", lengths_form="zero")
    listed = services()
    assert "categories" in listed and "category" not in listed
    assert {s["seance_length"] for s in listed["services"]} == {0}
    sandbox.configure(1001, services_form="both", lengths_form="always")
    listed = services()
    assert listed["category"] == listed["categories"]
    assert all(s["seance_length"] > 0 for s in listed["services"])
    sandbox.configure(1001, services_form="yclients")
    listed = services()
    assert all("sex" in s and "gender" not in s and s["active"] == 0 for s in listed["services"])
    with pytest.raises(ValueError, match="services_form"):
        sandbox.configure(1001, services_form="category_list")


async def test_a_team_member_not_free_just_now_is_still_taken(bot: Bot) -> None:
    # `bookable` false: Altegio found no free time for her when it answered (§6.6).
    sofia = {"id": 2004, "name": "Sofia Becker", "specialization": "", "bookable": False}
    bot.sandbox.fault("GET", "book_staff", status=200, body={"success": True, "data": [sofia]})
    user = bot.user()
    await user.send("/start svc10006-stf2004")
    assert "does not take this service" not in user.last.text, user.screen()
    assert at_the_day_step(user) and "Sofia Becker" in user.last.text
