from kiosk.app import KIOSK_SIZE
from kiosk.screens.ticket import TicketScreen
from tests.kiosk.conftest import started, wait_for


async def test_three_taps_give_a_ticket(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await pilot.click("#choice-0")  # English
        await wait_for(pilot, lambda: app.visit is not None and app.visit.step == "category")
        await pilot.pause()
        await pilot.click("#choice-0")  # money
        await pilot.pause()
        await pilot.click("#choice-0")  # pay council tax
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        assert app.screen.ticket.number == "C001"
