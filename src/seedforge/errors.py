"""The one error type users see, and the one-line warning for a deprecated recipe spelling."""


class SeedforgeError(Exception):
    """A user-facing error: its message is one line naming the file, row and field or the param key."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type name if it has none.

    >>> first_line(OSError("no such repo\\nsee https://...")), first_line(KeyError())
    ('no such repo', 'KeyError')
    """
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def deprecated(old: str, new: str) -> str:
    """Warn, in one line on stderr, that a recipe spelling is deprecated; returns the message.

    Old recipes and old revisions keep running (the old spelling is read as the new one), and the
    line says what to write instead.

    >>> deprecated("loop.augment: uniform", "loop.augment: random")
    'loop.augment: uniform is deprecated; write loop.augment: random (same meaning)'
    """
    import logging

    message = f"{old} is deprecated; write {new} (same meaning)"
    logging.getLogger("seedforge").warning(message)
    return message
