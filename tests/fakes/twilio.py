"""Fake Twilio REST API: IncomingPhoneNumbers fetch with Basic auth, Twilio error bodies."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import FakeProvider, Handler, parse_basic

NUMBER_PATH = "/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}.json"
MESSAGES_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


class FakeTwilio(FakeProvider):
    def reset(self) -> None:
        self.accounts: dict[str, str] = {}
        self.numbers: dict[tuple[str, str], dict[str, Any]] = {}
        # Messages accepted by Messages.json (the form as sent); `reject_to` numbers get 400.
        self.sent: list[dict[str, str]] = []
        self.reject_to: set[str] = set()
        super().reset()

    def add_account(self, account_sid: str, auth_token: str) -> None:
        self.accounts[account_sid] = auth_token

    def add_number(
        self,
        account_sid: str,
        number_sid: str,
        phone_number: str,
        *,
        sms: bool = True,
        mms: bool = True,
        voice: bool = True,
    ) -> None:
        self.numbers[(account_sid, number_sid)] = {
            "sid": number_sid,
            "account_sid": account_sid,
            "friendly_name": phone_number,
            "phone_number": phone_number,
            "capabilities": {"voice": voice, "sms": sms, "mms": mms, "fax": False},
            "status": "in-use",
            "api_version": "2010-04-01",
            "date_created": "Thu, 30 Jul 2015 23:19:04 +0000",
            "uri": f"/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}.json",
        }

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", NUMBER_PATH, self.fetch_number),
            ("POST", MESSAGES_PATH, self.send_message),
        ]

    async def send_message(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        creds = parse_basic(request.headers.get("authorization"))
        if creds is None or self.accounts.get(creds[0]) != creds[1] or creds[0] != account_sid:
            return twilio_error(401, 20003, "Authenticate")
        form: dict[str, str] = request.state.form
        if form.get("To") in self.reject_to:
            return twilio_error(400, 21211, f"The 'To' number {form.get('To')} is not valid.")
        self.sent.append(form)
        sid = f"SM{len(self.sent):032d}"
        return JSONResponse(
            {"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From")},
            status_code=201,
        )

    async def fetch_number(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        number_sid = request.path_params["number_sid"]
        creds = parse_basic(request.headers.get("authorization"))
        if creds is None or self.accounts.get(creds[0]) != creds[1] or creds[0] != account_sid:
            return twilio_error(401, 20003, "Authenticate")
        number = self.numbers.get((account_sid, number_sid))
        if number is None:
            return twilio_error(
                404, 20404, f"The requested resource {request.url.path} was not found"
            )
        return JSONResponse(number)
