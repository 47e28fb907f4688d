"""Web chat: an embeddable widget and a chat page for customers, served by agents on the desk."""

__all__: list[str] = []
