"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class XmbenchError(Exception):
    """A user-facing problem: bad option, missing or corrupt data, a diverging run."""


class DataUnavailableError(XmbenchError):
    """A dataset's files are not under the data root and may not or cannot be downloaded."""


class NonFiniteError(XmbenchError):
    """A method produced NaN/inf (a diverging loss, a zero or non-finite embedding)."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), for one-line errors."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
