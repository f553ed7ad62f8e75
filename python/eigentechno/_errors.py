"""The package's exceptions. Every error eigentechno raises is an ``eigentechno.Error``;
each is also the built-in exception a Python user would catch for it."""


class Error(Exception):
    """Base class of every eigentechno error."""


class FileError(Error, OSError):
    """A file is missing, unreadable, not audio, corrupt or unwritable. An ``OSError``;
    ``filename`` names the file."""

    def __str__(self) -> str:
        # The message as the command line prints it (OSError would reformat it).
        return str(self.args[0]) if self.args else ""


class InvalidInputError(Error, ValueError):
    """An array or option is unusable (wrong shape or dtype, NaN, out of range, an
    unknown name, a bad pipeline file). A ``ValueError``."""


class NoRhythmError(Error, ValueError):
    """The audio has no steady beat (silence, too short, no pulse). A ``ValueError``."""


class InternalError(Error, RuntimeError):
    """A bug in eigentechno: please report it with the message."""


class NotFittedError(InvalidInputError, AttributeError):
    """The estimator is used before ``fit`` (as scikit-learn's ``NotFittedError``)."""
