"""The Tencent Live emulator: Tencent's live REST API, webhooks and app users, in memory, on loopback.

A development tool, never deployed. See docs/emulator.md.
"""
