"""A Twilio fake for load: every number SID of the bench account exists (with its own number).

Integration create needs a distinct Twilio number per request (one channel, one hub), so the
bench cannot pre-register them; the test fake's lookup is kept, only the table fills itself.
"""

from __future__ import annotations

import itertools

from starlette.requests import Request
from starlette.responses import Response
from tests.fakes.twilio import FakeTwilio

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"


class AnyNumberTwilio(FakeTwilio):
    def reset(self) -> None:
        super().reset()
        self._serial = itertools.count(1)
        self.add_account(ACCOUNT_SID, AUTH_TOKEN)

    async def fetch_number(self, request: Request) -> Response:
        key = (request.path_params["account_sid"], request.path_params["number_sid"])
        if key[0] == ACCOUNT_SID and key not in self.numbers:
            self.add_number(key[0], key[1], f"+1{next(self._serial):010d}")
        return await super().fetch_number(request)
