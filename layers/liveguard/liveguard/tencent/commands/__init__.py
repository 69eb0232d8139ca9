"""Typed requests and replies for every REST command LiveClient speaks; ``COMMANDS`` maps names to them."""

from . import chat, config, gifts, members, messages, metadata, robots, rooms, seats, stats
from .base import COMMANDS, Command, EmptyReply, Reply, Request

__all__ = [
    "COMMANDS",
    "Command",
    "EmptyReply",
    "Reply",
    "Request",
    "chat",
    "config",
    "gifts",
    "members",
    "messages",
    "metadata",
    "robots",
    "rooms",
    "seats",
    "stats",
]
