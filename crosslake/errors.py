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


# What a JVM or object-store failure looks like when the cause is the storage underneath, not
# the job: (text found in the error's trace, what to tell the user). The first match wins.
DISK_FAILURES = (
    ("No space left on device", "the disk is full"),
    ("Disk quota exceeded", "the disk quota is exhausted"),
    # a folder under the lake that cannot be written (the root itself is checked up front)
    ("Read-only file system", "the lake's file system is read-only"),
    ("java.nio.file.AccessDeniedException", "a folder of the lake cannot be written (permission denied)"),
    ("[Errno 13] Permission denied", "a folder of the lake cannot be written (permission denied)"),
)
NETWORK_FAILURES = (
    ("Connection refused", "the object store could not be reached (connection refused)"),
    ("Connection reset", "the connection to the object store was cut (connection reset)"),
    ("NoHttpResponseException", "the object store stopped answering"),
    ("SocketTimeoutException", "the object store did not answer in time"),
    ("UnknownHostException", "the object store's host name does not resolve"),
    ("Unable to execute HTTP request", "the object store could not be reached"),
    ("NETWORK_CONNECTION", "the object store could not be reached"),
)
# The object store refused, or nobody had credentials for it: on a cluster, the executors' side
# (they start from their node's environment, not the driver's).
NO_CREDENTIALS = ("no credentials for the object store were found where the work ran: on a cluster each node needs "
                  "its own (AWS_SHARED_CREDENTIALS_FILE in the workers' environment naming the node's mounted "
                  "credentials file, or the Secret on Kubernetes; README: On a cluster)")
AUTH_FAILURES = (
    ("NoAuthWithAWSException", NO_CREDENTIALS),
    ("No AWS Credentials provided", NO_CREDENTIALS),
    ("InvalidAccessKeyId", "the object store refused the access key"),
    ("SignatureDoesNotMatch", "the object store refused the secret key"),
)
# A network failure is the object store's only when the trace is the S3 client's (S3A's or
# pyarrow's): "Connection reset" is also what Spark says when a Python worker dies.
OBJECT_STORE_TRACE = ("S3AFileSystem", "org.apache.hadoop.fs.s3a", "software.amazon.awssdk", "AWS Error")
NOT_STORAGE = ("Python worker exited unexpectedly", "PythonException")


def storage_failure(exc: BaseException) -> str | None:
    """What went wrong underneath, if `exc` (a Spark/py4j/pyarrow error, or anything it was
    raised from) failed because the disk is full or the object store cannot be reached; None
    otherwise. Looks at the whole JVM trace, causes included: Spark wraps the executor's
    IOException in a SparkException whose own first line says only that a stage failed."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(texts) < 10:
        texts.append(str(seen))
        texts.append(str(getattr(seen, "_stackTrace", "") or ""))   # pyspark's CapturedException
        seen = seen.__cause__ or seen.__context__
    text = "\n".join(texts)
    if any(marker in text for marker in NOT_STORAGE):
        return None
    store = any(m in text for m in OBJECT_STORE_TRACE)
    # S3A reports missing credentials as an AccessDeniedException too: the store's reasons come first
    failures = (AUTH_FAILURES if store else ()) + DISK_FAILURES + (NETWORK_FAILURES if store else ())
    return next((meaning for marker, meaning in failures if marker in text), None)
