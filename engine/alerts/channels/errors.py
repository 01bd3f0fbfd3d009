"""The one error a channel raises."""

from __future__ import annotations


class ChannelError(Exception):
    """A channel could not deliver; the message is a short reason with no secret in it."""
