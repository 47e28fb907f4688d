"""Channels: how customers reach the center. Web chat (``kefu.channels.webchat``) is the first.

Other features use the channels only through this surface.
"""

from kefu.channels.webchat.services import chat_context

__all__ = ["chat_context"]
