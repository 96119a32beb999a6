"""Errors a user can act on, each with the exit code a scheduler sees.

Exit codes: 0 success, 1 failed, 2 bad usage or configuration, 3 blocked by data quality,
4 skipped because another run holds the job's --lock (crosslake/runner.py).
The message of every error here is printed as one line and says what to do.
"""


class CrosslakeError(Exception):
    """A failure the user can fix; its message says how."""

    exit_code = 1


class ConfigError(CrosslakeError):
    """Bad command line, profile or configuration value."""

    exit_code = 2


class DataQualityError(CrosslakeError):
    """A batch-level data-quality check failed: nothing was published."""

    exit_code = 3
