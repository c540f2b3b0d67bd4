"""The console entry point. Signals are handled before anything heavy is imported, so Ctrl-C at
any moment, even while torch loads, is one line and exit 130, and SIGTERM one line and exit 143;
runs finished before the signal are already in the results store."""

from __future__ import annotations

import signal
import sys

INTERRUPTED, TERMINATED = 130, 143  # 128 + the signal's number, as shells report them


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, so no ``except Exception`` of a run swallows it)."""


def _terminate(signum, frame) -> None:  # noqa: ANN001
    raise Terminated


def one_line_warnings() -> None:
    """Every warning is one ``warning:`` line on stderr, without the source path and line Python would
    print: set before xmbench's modules import, so a broken plugin's warning at start-up is one line."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        print(f"warning: {message}", file=sys.stderr, flush=True)

    warnings.simplefilter("default")
    warnings.showwarning = show


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    one_line_warnings()
    try:
        from xmbench.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        _stop("interrupted", INTERRUPTED)
    except Terminated:
        _stop("terminated", TERMINATED)


def _stop(what: str, code: int) -> None:
    print(f"{what}; finished runs are kept", file=sys.stderr, flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
