"""What can go wrong, by exit status: the command line turns each into one line.

Exit 2: the request is invalid (:class:`SpecError`). Exit 1: the request is fine but
something it needs failed or disagreed (:class:`ToolError`, :class:`BackendError`,
:class:`VerifyError`). A light module, so the command line can catch all of them
without importing what raises them.
"""


class SpecError(ValueError):
    """Invalid parameters: exit status 2, nothing written."""


class ToolError(RuntimeError):
    """A missing program or a TeX failure: exit status 1."""


class BackendError(RuntimeError):
    """The requested convolution backend cannot run here: exit status 1."""


class VerifyError(RuntimeError):
    """A figure whose numbers the backend does not reproduce: exit status 1."""
