"""The agent desktop and the supervisor wallboard (pages, screen-pop, wrap-up, quick replies)."""

__all__: list[str] = []
