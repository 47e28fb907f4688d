"""Channels: how customers reach the center. Web chat (``kefu.channels.webchat``) is the first.

Other features use the channels only through this surface.
"""

__all__: list[str] = []
