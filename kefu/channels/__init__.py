"""Channels: how customers reach the center. Web chat (``kefu.channels.webchat``) is the first.

Other features use the channels only through this surface.
"""

from kefu.channels.sms.model import normalise_phone
from kefu.channels.sms.services import deliver_pending, queue_sms, register_reply_handler
from kefu.channels.webchat.services import chat_context

__all__ = [
    "chat_context",
    "deliver_pending",
    "normalise_phone",
    "queue_sms",
    "register_reply_handler",
]
