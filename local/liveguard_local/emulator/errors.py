"""An API-level refusal: answered with HTTP 200 and Tencent's FAIL envelope carrying the code."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, code: int, info: str) -> None:
        self.code = code
        self.info = info
        super().__init__(f"{code}: {info}")
