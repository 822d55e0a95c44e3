"""The one error type users see."""


class SeedforgeError(Exception):
    """A user-facing error: its message is one line naming the file, row and field or the param key."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type name if it has none.

    >>> first_line(OSError("no such repo\\nsee https://...")), first_line(KeyError())
    ('no such repo', 'KeyError')
    """
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
