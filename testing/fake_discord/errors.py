"""Errors raised by the fake, shaped like Discord's JSON error bodies."""

from __future__ import annotations

from typing import Any


class FakeHTTPError(Exception):
    """A Discord API error: HTTP ``status`` plus the JSON body ``{"code": ..., "message": ...}``.

    Raised inside request handlers to produce the error response, and raised to the test by helpers such as
    :meth:`FakeDiscord.invoke` when Discord itself (or its client) would refuse the action.
    """

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        detail = f" errors={errors}" if errors else ""
        super().__init__(f"{status} (code {code}): {message}{detail}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class FakePermissionError(FakeHTTPError, PermissionError):
    """The Discord client would not let this user run the command (``default_member_permissions``)."""

    def __init__(self, message: str) -> None:
        super().__init__(403, 50013, message)


class FakeInvocationError(ValueError):
    """The Discord client would not send this interaction (unknown command/option, bad or missing value)."""


def invalid_form_body(errors: dict[str, Any]) -> FakeHTTPError:
    return FakeHTTPError(400, 50035, "Invalid Form Body", errors)


def field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def unauthorized() -> FakeHTTPError:
    return FakeHTTPError(401, 0, "401: Unauthorized")


def not_found_route() -> FakeHTTPError:
    return FakeHTTPError(404, 0, "404: Not Found")


def unknown_channel() -> FakeHTTPError:
    return FakeHTTPError(404, 10003, "Unknown Channel")


def unknown_message() -> FakeHTTPError:
    return FakeHTTPError(404, 10008, "Unknown Message")


def unknown_guild() -> FakeHTTPError:
    return FakeHTTPError(404, 10004, "Unknown Guild")


def unknown_user() -> FakeHTTPError:
    return FakeHTTPError(404, 10013, "Unknown User")


def unknown_webhook() -> FakeHTTPError:
    return FakeHTTPError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> FakeHTTPError:
    return FakeHTTPError(404, 10062, "Unknown interaction")


def already_acknowledged() -> FakeHTTPError:
    return FakeHTTPError(400, 40060, "Interaction has already been acknowledged.")


def invalid_webhook_token() -> FakeHTTPError:
    return FakeHTTPError(401, 50027, "Invalid Webhook Token")


def missing_access() -> FakeHTTPError:
    return FakeHTTPError(403, 50001, "Missing Access")


def missing_permissions() -> FakeHTTPError:
    return FakeHTTPError(403, 50013, "Missing Permissions")


def cannot_message_user() -> FakeHTTPError:
    return FakeHTTPError(403, 50007, "Cannot send messages to this user")


def empty_message() -> FakeHTTPError:
    return FakeHTTPError(400, 50006, "Cannot send an empty message")
