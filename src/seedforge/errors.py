"""The one error type users see."""


class SeedforgeError(Exception):
    """A user-facing error: its message is one line naming the file, row and field or the param key."""
