"""Tencent's REST error taxonomy: what a code means for the caller (retry, re-sign, accept, give up)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    """What a caller should do about a failed call."""

    RETRYABLE = "retryable"  # network trouble, HTTP 5xx, Tencent rate limits and internal errors
    AUTH = "auth"  # the admin UserSig or account was refused: regenerate once, then fail
    GONE = "gone"  # the room no longer exists where that already is the desired state
    PERMANENT = "permanent"  # bad parameter, no permission, quota: retrying cannot help


RETRYABLE_CODES = frozenset({60007, 60008, 60011, 60018, 60019, 70169, 70202, 70500, 100001})
# 70052 is outside 70001-70020 but means the same as 70001 (sig expired/invalidated).
AUTH_CODES = frozenset({*range(70001, 70021), 70052, 60004, 60005, 60006, 60010, 70403})
# UserSig problems that a freshly generated sig can cure.
SIG_EXPIRED_CODES = frozenset({70001, 70052})
ROOM_GONE = 100004
# Commands for which "the room does not exist" means the desired state already holds.
GONE_OK_COMMANDS = frozenset({"destroy_room", "set_room_metadata", "del_room_metadata"})


def classify(code: int | None, command: str, *, http_status: int = 200) -> ErrorCategory:
    """The category of a failure: ``code`` is Tencent's ErrorCode, None when there was no reply body."""
    if http_status >= 500:
        return ErrorCategory.RETRYABLE
    if code is None:
        return ErrorCategory.RETRYABLE if http_status == 200 else ErrorCategory.PERMANENT
    if code in RETRYABLE_CODES:
        return ErrorCategory.RETRYABLE
    if code in AUTH_CODES:
        return ErrorCategory.AUTH
    if code == ROOM_GONE and command in GONE_OK_COMMANDS:
        return ErrorCategory.GONE
    return ErrorCategory.PERMANENT


class TencentApiError(Exception):
    """A REST call that did not succeed, with everything needed to decide what to do next.

    ``code`` is Tencent's ErrorCode (or the code Tencent would give, for a request refused locally
    before sending); it is None for failures with no Tencent answer (network error, HTTP error,
    deadline spent). ``local`` is True when no call was spent.
    """

    def __init__(
        self,
        *,
        command: str,
        code: int | None,
        info: str,
        request_id: str = "",
        http_status: int | None = None,
        local: bool = False,
        category: ErrorCategory | None = None,
    ) -> None:
        self.command = command
        self.code = code
        self.info = info
        self.request_id = request_id
        self.http_status = http_status
        self.local = local
        self.category = category or classify(code, command, http_status=http_status or 200)
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = "refused locally" if self.local else f"RequestId {self.request_id or '-'}"
        code = "no code" if self.code is None else f"ErrorCode {self.code}"
        http = f", HTTP {self.http_status}" if self.http_status not in (None, 200) else ""
        return f"{self.command}: {code} ({self.category}{http}, {where}): {self.info}"

    @property
    def retryable(self) -> bool:
        return self.category is ErrorCategory.RETRYABLE

    @property
    def gone(self) -> bool:
        """True when the room is already gone and, for this command, that is the desired state."""
        return self.category is ErrorCategory.GONE
